// deploy/k8s and the Dockerfile against issue 14: every overlay renders a NetworkPolicy that
// admits gRPC only from labelled namespaces and /metrics only from Prometheus, the pods read
// their bearer tokens from a Secret mounted read-only, and the TLS overlay takes its certificate
// from a Secret too (probing over plain HTTP, which kubelet can).
#include <gtest/gtest.h>

#include <map>

#include "clients/client_server_fixture.h"
#include "deploy/deploy_files.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

nlohmann::json Render(const std::string& overlay, std::string* error) {
  std::string out, err;
  if (RunCommand("kubectl kustomize " + ShellQuote(SourcePath("deploy/k8s/overlays/" + overlay)),
                 &out, &err) != 0) {
    *error = "kubectl kustomize " + overlay + " failed: " + err;
    return nlohmann::json();
  }
  return YamlDocuments(out, error);
}

nlohmann::json OneOf(const nlohmann::json& docs, const std::string& kind) {
  nlohmann::json found;
  for (const auto& d : docs) {
    if (d.value("kind", "") == kind) found = d;
  }
  return found;
}

std::string EnvOf(const nlohmann::json& container, const std::string& name) {
  for (const auto& e : container.value("env", nlohmann::json::array())) {
    if (e["name"] == name) return e.value("value", "");
  }
  return "";
}

// The directory `file` is in must be a read-only mount of Secret `secret`.
void ExpectSecretMount(const nlohmann::json& pod, const std::string& file,
                       const std::string& secret) {
  ASSERT_FALSE(file.empty()) << "no file for Secret " << secret;
  const std::string dir = file.substr(0, file.rfind('/'));
  const auto& container = pod["containers"][0];
  std::string volume;
  for (const auto& m : container["volumeMounts"]) {
    if (m["mountPath"] == dir) {
      volume = m["name"];
      EXPECT_TRUE(m.value("readOnly", false)) << dir << " must be mounted read-only";
    }
  }
  ASSERT_FALSE(volume.empty()) << "nothing mounted at " << dir;
  bool found = false;
  for (const auto& v : pod["volumes"]) {
    if (v["name"] != volume) continue;
    found = true;
    EXPECT_EQ(v["secret"].value("secretName", ""), secret) << v.dump();
    // Group-readable at most (the pod's fsGroup), never world-readable.
    EXPECT_EQ(v["secret"].value("defaultMode", 0644) & 07, 0) << v.dump();
  }
  EXPECT_TRUE(found) << volume;
}

class Overlay : public ::testing::TestWithParam<std::string> {};

TEST_P(Overlay, RendersANetworkPolicyAndUsesTheTokenSecret) {
  if (!HaveProgram("kubectl")) GTEST_SKIP() << "kubectl is not installed";
  std::string error;
  const auto docs = Render(GetParam(), &error);
  ASSERT_TRUE(docs.is_array()) << error;
  const auto deployment = OneOf(docs, "Deployment");
  const auto policy = OneOf(docs, "NetworkPolicy");
  ASSERT_TRUE(policy.is_object()) << "no NetworkPolicy in " << GetParam();
  const auto& pod = deployment["spec"]["template"]["spec"];
  const auto& container = pod["containers"][0];

  // The policy selects the pods and restricts ingress: every rule names its sources and ports.
  const auto& labels = deployment["spec"]["template"]["metadata"]["labels"];
  for (const auto& [key, value] : policy["spec"]["podSelector"]["matchLabels"].items()) {
    EXPECT_EQ(labels.value(key, ""), value) << key;
  }
  EXPECT_NE(policy["spec"]["policyTypes"].dump().find("Ingress"), std::string::npos);
  std::map<std::string, nlohmann::json> sources_by_port;
  for (const auto& rule : policy["spec"]["ingress"]) {
    ASSERT_TRUE(rule.contains("from") && !rule["from"].empty()) << "a rule open to everyone";
    for (const auto& port : rule["ports"]) sources_by_port[port["port"].dump()] = rule["from"];
  }
  ASSERT_EQ(sources_by_port.size(), 2u) << policy.dump();
  const auto metrics_from = sources_by_port["\"metrics\""].dump();
  EXPECT_NE(metrics_from.find("prometheus"), std::string::npos) << metrics_from;
  EXPECT_TRUE(sources_by_port.count("\"grpc\""));

  // Bearer tokens from the Secret, read-only; never in the ConfigMap.
  ExpectSecretMount(pod, EnvOf(container, "GRAPHOPT_AUTH_TOKENS"), "graphopt-tokens");
  EXPECT_FALSE(OneOf(docs, "ConfigMap")["data"].contains("GRAPHOPT_AUTH_TOKENS"));
  EXPECT_FALSE(OneOf(docs, "ConfigMap")["data"].contains("GRAPHOPT_ALLOW_UNAUTHENTICATED"));
}

INSTANTIATE_TEST_SUITE_P(Kubernetes, Overlay, ::testing::Values("single", "scaled", "single-tls"));

TEST(Kubernetes, TlsOverlayTakesItsCertificateFromASecretAndProbesOverHttp) {
  if (!HaveProgram("kubectl")) GTEST_SKIP() << "kubectl is not installed";
  std::string error;
  const auto docs = Render("single-tls", &error);
  ASSERT_TRUE(docs.is_array()) << error;
  const auto deployment = OneOf(docs, "Deployment");
  const auto& pod = deployment["spec"]["template"]["spec"];
  const auto& container = pod["containers"][0];
  ExpectSecretMount(pod, EnvOf(container, "GRAPHOPT_TLS_CERT"), "graphopt-tls");
  ExpectSecretMount(pod, EnvOf(container, "GRAPHOPT_TLS_KEY"), "graphopt-tls");
  for (const std::string probe : {"startupProbe", "readinessProbe", "livenessProbe"}) {
    EXPECT_FALSE(container[probe].contains("grpc")) << probe << ": kubelet cannot probe TLS";
    EXPECT_EQ(container[probe]["httpGet"].value("port", ""), "metrics") << probe;
  }
}

// The image listens on 0.0.0.0, so it must not default to running without authentication.
TEST(Dockerfile, DoesNotAllowUnauthenticatedCallersByDefault) {
  const std::string dockerfile = ReadText(SourcePath("Dockerfile"));
  ASSERT_FALSE(dockerfile.empty());
  EXPECT_EQ(dockerfile.find("GRAPHOPT_ALLOW_UNAUTHENTICATED"), std::string::npos);
  EXPECT_EQ(dockerfile.find("--allow-unauthenticated"), std::string::npos);
}

}  // namespace
}  // namespace graphopt::testing
