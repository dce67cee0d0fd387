// Opaque page tokens of ListJobs and ListModels: base64url of a keyset cursor (the seq the next
// page starts below) and a hash of the caller and the filters it was issued for, so a token
// used with other filters, edited, or made up is INVALID_ARGUMENT instead of a wrong page.
#pragma once

#include <cstdint>
#include <string>

#include "optimizer/util/status.h"

namespace graphopt::server {

// `scope` names the listing and every filter ("jobs\ntenant\nstate=..."); it is hashed, not
// stored.
std::string EncodePageToken(const std::string& scope, int64_t before_seq);
// 0 for an empty token (first page).
Result<int64_t> DecodePageToken(const std::string& scope, const std::string& token);

}  // namespace graphopt::server
