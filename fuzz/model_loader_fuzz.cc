// libFuzzer target: arbitrary bytes through the model loader (protobuf parse, IR conversion,
// ONNX checker and graphopt's limits) and through the server's upload check. Either may refuse
// the bytes; neither may crash, leak, hang or accept a model that breaks the IR's invariants or
// does not load again once saved.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "optimizer/io/model_io.h"
#include "optimizer/ir/verifier.h"
#include "server/service/model_validator.h"

namespace {

class StringBlobReader : public graphopt::server::BlobReader {
 public:
  explicit StringBlobReader(const std::string& bytes) : bytes_(bytes) {}
  graphopt::Result<size_t> Read(char* buffer, size_t capacity) override {
    const size_t n = std::min(capacity, bytes_.size() - done_);
    std::memcpy(buffer, bytes_.data() + done_, n);
    done_ += n;
    return n;
  }
  int64_t size() const override { return static_cast<int64_t>(bytes_.size()); }

 private:
  const std::string& bytes_;
  size_t done_ = 0;
};

[[noreturn]] void Fail(const char* what, const graphopt::Status& status) {
  std::fprintf(stderr, "fuzz_model_loader: %s: %s\n", what, status.ToString().c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);

  auto model = graphopt::LoadModelFromBytes(bytes);
  if (model.ok()) {
    if (graphopt::Status valid = graphopt::ir::VerifyModel(**model); !valid.ok()) {
      Fail("a loaded model breaks the IR's invariants", valid);
    }
    auto saved = graphopt::SerializeModel(**model);
    if (!saved.ok()) Fail("a loaded model does not serialize", saved.status());
    auto again = graphopt::LoadModelFromBytes(*saved);
    if (!again.ok()) Fail("a loaded model does not load again once saved", again.status());
  }

  graphopt::Status upload = graphopt::server::ValidateOnnxModel(
      [&bytes]() -> graphopt::Result<std::unique_ptr<graphopt::server::BlobReader>> {
        return std::unique_ptr<graphopt::server::BlobReader>(new StringBlobReader(bytes));
      });
  (void)upload;
  return 0;
}
