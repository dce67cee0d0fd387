// deploy/k8s: both overlays render with `kubectl kustomize`, and what they render fits the server:
// gRPC health probes on the gRPC port for the service the server registers, a termination grace
// longer than the server's, settings the server accepts, and each overlay's store and scale.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>

#include "clients/client_server_fixture.h"
#include "deploy/deploy_files.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

class Rendered {
 public:
  explicit Rendered(const std::string& overlay) {
    if (!HaveProgram("kubectl")) return;
    std::string out, err;
    const int rc =
        RunCommand("kubectl kustomize " + ShellQuote(SourcePath("deploy/k8s/overlays/" + overlay)),
                   &out, &err);
    if (rc != 0) {
      error_ = "kubectl kustomize " + overlay + " failed: " + err;
      return;
    }
    docs_ = YamlDocuments(out, &error_);
  }
  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty() && docs_.is_array(); }
  // The one object of `kind` (null when absent or repeated).
  nlohmann::json One(const std::string& kind) const {
    nlohmann::json found;
    int count = 0;
    for (const auto& d : docs_) {
      if (d.value("kind", "") == kind) {
        found = d;
        ++count;
      }
    }
    return count == 1 ? found : nlohmann::json();
  }
  std::set<std::string> Kinds() const {
    std::set<std::string> kinds;
    for (const auto& d : docs_) kinds.insert(d.value("kind", ""));
    return kinds;
  }

 private:
  nlohmann::json docs_;
  std::string error_;
};

#define RENDER_OR_SKIP(var, overlay)                                                         \
  if (!HaveProgram("kubectl"))                                                               \
    GTEST_SKIP() << "kubectl is not installed: deploy/k8s/overlays/" overlay " not checked"; \
  Rendered var(overlay);                                                                     \
  ASSERT_TRUE(var.ok()) << var.error()

// Seconds from SIGTERM to the end of the server's own shutdown: the drain delay, then the jobs'
// grace period.
double GracePeriodOf(const nlohmann::json& config_map) {
  return std::stod(config_map["data"].value("GRAPHOPT_GRACE_PERIOD", "30")) +
         std::stod(config_map["data"].value("GRAPHOPT_DRAIN_DELAY", "0"));
}

const nlohmann::json& ServerContainer(const nlohmann::json& deployment) {
  return deployment["spec"]["template"]["spec"]["containers"][0];
}

// Seconds of the container's preStop `sleep N` (0 without one); kubelet counts them in the
// termination grace period before it sends SIGTERM.
double PreStopSleepOf(const nlohmann::json& container) {
  const auto command =
      container.value("/lifecycle/preStop/exec/command"_json_pointer, nlohmann::json::array());
  if (command.size() != 2 || command[0] != "sleep") return 0;
  return std::stod(command[1].get<std::string>());
}

// Resources that are not pods still carry the app's labels, so `kubectl get -l` and cost or
// ownership reports find them.
void ExpectAppLabels(const nlohmann::json& object) {
  ASSERT_TRUE(object.is_object());
  const auto& labels = object["metadata"].value("labels", nlohmann::json::object());
  EXPECT_EQ(labels.value("app.kubernetes.io/name", ""), "graphopt") << object["kind"];
  EXPECT_EQ(labels.value("app.kubernetes.io/component", ""), "optimizer") << object["kind"];
}

// What both overlays must get right.
void ExpectCommonShape(const Rendered& r) {
  for (const std::string kind :
       {"Deployment", "Service", "ConfigMap", "ServiceAccount", "ServiceMonitor"}) {
    EXPECT_TRUE(r.Kinds().count(kind)) << kind << " missing";
  }
  const auto deployment = r.One("Deployment");
  const auto service = r.One("Service");
  const auto config = r.One("ConfigMap");
  ASSERT_TRUE(deployment.is_object() && service.is_object() && config.is_object());
  const auto& pod = deployment["spec"]["template"]["spec"];
  const auto& container = ServerContainer(deployment);

  // Container ports by name.
  std::map<std::string, int> ports;
  for (const auto& p : container["ports"]) ports[p["name"]] = p["containerPort"];
  ASSERT_TRUE(ports.count("grpc") && ports.count("metrics"));
  const auto& data = config["data"];
  EXPECT_EQ(data.value("GRAPHOPT_LISTEN", ""), "0.0.0.0:" + std::to_string(ports["grpc"]));
  EXPECT_EQ(data.value("GRAPHOPT_METRICS_LISTEN", ""),
            "0.0.0.0:" + std::to_string(ports["metrics"]));

  // Native gRPC probes against the gRPC port; readiness asks for the API's own service.
  for (const std::string probe : {"startupProbe", "readinessProbe", "livenessProbe"}) {
    ASSERT_TRUE(container.contains(probe)) << probe;
    ASSERT_TRUE(container[probe].contains("grpc")) << probe << " is not a gRPC probe";
    EXPECT_EQ(container[probe]["grpc"]["port"], ports["grpc"]) << probe;
  }
  const std::string proto = ReadText(SourcePath("proto/graphopt/v1/optimizer.proto"));
  ASSERT_NE(proto.find("package graphopt.v1;"), std::string::npos);
  ASSERT_NE(proto.find("service OptimizerService"), std::string::npos);
  EXPECT_EQ(container["readinessProbe"]["grpc"].value("service", ""),
            "graphopt.v1.OptimizerService");

  // Kubernetes must not kill a pod before the server's own grace period is over; the preStop
  // sleep comes first and counts too.
  const double pre_stop = PreStopSleepOf(container);
  EXPECT_GT(pre_stop, 0) << "a preStop sleep keeps the pod serving while endpoints update";
  EXPECT_EQ(pre_stop, std::stod(config["data"].value("GRAPHOPT_DRAIN_DELAY", "0")))
      << "the preStop sleep and the drain delay are meant to match";
  const double grace = pre_stop + GracePeriodOf(config);
  EXPECT_GE(pod.value("terminationGracePeriodSeconds", 30), grace + 10)
      << "terminationGracePeriodSeconds must exceed the preStop sleep + GRAPHOPT_DRAIN_DELAY + "
         "GRAPHOPT_GRACE_PERIOD with a margin";
  EXPECT_GT(std::stod(config["data"].value("GRAPHOPT_DRAIN_DELAY", "0")), 0)
      << "pods should keep serving a few seconds after SIGTERM while endpoints update";

  // The image is pinned by digest: a tag may move between two pods of one rollout.
  const std::string image = container.value("image", "");
  EXPECT_TRUE(std::regex_match(image, std::regex(R"([^@:]+(:[^@]+)?@sha256:[0-9a-f]{64})")))
      << image;
  ExpectAppLabels(r.One("ServiceMonitor"));
  ExpectAppLabels(r.One("PrometheusRule"));

  for (const std::string kind : {"requests", "limits"}) {
    EXPECT_TRUE(container["resources"][kind].contains("cpu")) << kind;
    EXPECT_TRUE(container["resources"][kind].contains("memory")) << kind;
  }
  EXPECT_TRUE(pod["securityContext"].value("runAsNonRoot", false));
  EXPECT_EQ(pod.value("serviceAccountName", ""), r.One("ServiceAccount")["metadata"]["name"]);

  // The container reads its settings from the rendered ConfigMap (hash-suffixed name).
  EXPECT_EQ(container["envFrom"][0]["configMapRef"]["name"], config["metadata"]["name"]);

  // The Service selects the pods and forwards to the named container ports.
  const auto& pod_labels = deployment["spec"]["template"]["metadata"]["labels"];
  for (const auto& [key, value] : service["spec"]["selector"].items()) {
    EXPECT_EQ(pod_labels.value(key, ""), value) << key;
  }
  std::set<std::string> service_ports;
  for (const auto& p : service["spec"]["ports"]) {
    service_ports.insert(p["name"]);
    EXPECT_TRUE(ports.count(p["targetPort"].get<std::string>())) << p.dump();
  }
  // The ServiceMonitor scrapes a port the Service has, on a Service it selects.
  const auto monitor = r.One("ServiceMonitor");
  ASSERT_TRUE(monitor.is_object());
  EXPECT_TRUE(service_ports.count(monitor["spec"]["endpoints"][0]["port"]));
  EXPECT_EQ(monitor["spec"]["endpoints"][0].value("path", ""), "/metrics");
  const auto& service_labels = service["metadata"]["labels"];
  for (const auto& [key, value] : monitor["spec"]["selector"]["matchLabels"].items()) {
    EXPECT_EQ(service_labels.value(key, ""), value) << key;
  }
}

std::string EnvValue(const nlohmann::json& container, const std::string& name) {
  for (const auto& e : container.value("env", nlohmann::json::array())) {
    if (e["name"] == name) return e.dump();
  }
  return "";
}

TEST(Kubernetes, SingleOverlayRunsOneReplicaOnSqliteOnAPvc) {
  RENDER_OR_SKIP(r, "single");
  ExpectCommonShape(r);
  const auto deployment = r.One("Deployment");
  EXPECT_EQ(deployment["spec"]["replicas"], 1);
  EXPECT_EQ(deployment["spec"]["strategy"]["type"], "Recreate");
  EXPECT_FALSE(deployment["spec"]["strategy"].contains("rollingUpdate"));
  const auto pvc = r.One("PersistentVolumeClaim");
  ASSERT_TRUE(pvc.is_object());
  // The data directory is mounted from that claim, and nothing else backs the volume.
  const auto& pod = deployment["spec"]["template"]["spec"];
  const auto& container = ServerContainer(deployment);
  const std::string data_dir = r.One("ConfigMap")["data"]["GRAPHOPT_DATA_DIR"];
  std::string volume_name;
  for (const auto& m : container["volumeMounts"]) {
    if (m["mountPath"] == data_dir) volume_name = m["name"];
  }
  ASSERT_FALSE(volume_name.empty()) << "nothing mounted at " << data_dir;
  for (const auto& v : pod["volumes"]) {
    if (v["name"] != volume_name) continue;
    EXPECT_EQ(v["persistentVolumeClaim"]["claimName"], pvc["metadata"]["name"]);
    EXPECT_FALSE(v.contains("emptyDir"));
  }
  EXPECT_NE(EnvValue(container, "GRAPHOPT_STORE").find("sqlite:" + data_dir), std::string::npos);
  EXPECT_FALSE(r.Kinds().count("HorizontalPodAutoscaler"));
}

TEST(Kubernetes, ScaledOverlayRunsReplicasOnPostgres) {
  RENDER_OR_SKIP(r, "scaled");
  ExpectCommonShape(r);
  const auto deployment = r.One("Deployment");
  // The HPA owns the count: a `replicas` field would undo its scaling on every apply.
  EXPECT_FALSE(deployment["spec"].contains("replicas"));
  EXPECT_EQ(deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0);
  const auto& container = ServerContainer(deployment);
  // The DSN (with its password) comes from a Secret, never from the ConfigMap.
  const auto store = nlohmann::json::parse(EnvValue(container, "GRAPHOPT_STORE"), nullptr, false);
  ASSERT_TRUE(store.is_object()) << "GRAPHOPT_STORE not set on the container";
  EXPECT_TRUE(store["valueFrom"].contains("secretKeyRef"));
  EXPECT_FALSE(r.One("ConfigMap")["data"].contains("GRAPHOPT_STORE"));
  EXPECT_EQ(r.One("ConfigMap")["data"].value("GRAPHOPT_BLOB_STORE", ""), "postgres");

  const auto hpa = r.One("HorizontalPodAutoscaler");
  ASSERT_TRUE(hpa.is_object());
  EXPECT_EQ(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
  EXPECT_EQ(hpa["spec"]["scaleTargetRef"]["name"], deployment["metadata"]["name"]);
  EXPECT_GE(hpa["spec"]["minReplicas"].get<int>(), 2);
  ExpectAppLabels(hpa);
  EXPECT_GT(hpa["spec"]["maxReplicas"].get<int>(), hpa["spec"]["minReplicas"].get<int>());

  const auto pdb = r.One("PodDisruptionBudget");
  ASSERT_TRUE(pdb.is_object());
  ExpectAppLabels(pdb);
  const auto& pod_labels = deployment["spec"]["template"]["metadata"]["labels"];
  for (const auto& [key, value] : pdb["spec"]["selector"]["matchLabels"].items()) {
    EXPECT_EQ(pod_labels.value(key, ""), value) << key;
  }
}

// The PrometheusRule is deploy/prometheus/graphopt-rules.yml (which promtool checks and unit
// tests), not a copy drifting from it.
TEST(Kubernetes, PrometheusRuleHasTheRulesOfTheRulesFile) {
  RENDER_OR_SKIP(r, "scaled");
  const auto rule = r.One("PrometheusRule");
  ASSERT_TRUE(rule.is_object());
  std::string error;
  const auto rules =
      YamlDocuments(ReadText(SourcePath("deploy/prometheus/graphopt-rules.yml")), &error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_TRUE(rules.is_array() && rules.size() == 1);
  EXPECT_EQ(rule["spec"], rules[0])
      << "deploy/k8s/components/prometheus-operator/prometheusrule.yaml differs from the rules "
         "file; regenerate its spec from deploy/prometheus/graphopt-rules.yml";
  EXPECT_GE(rule["spec"]["groups"].size(), 2u);
}

// Every GRAPHOPT_* variable the manifests set is a flag of graphopt-server.
TEST(Kubernetes, EverySettingIsOneTheServerReads) {
  const std::string server = ServerBinary();
  if (server.empty()) GTEST_SKIP() << "graphopt-server is not built";
  std::string help;
  ASSERT_EQ(RunCommand(ShellQuote(server) + " --help", &help), 0);
  const auto known = GraphoptEnvNames(help);
  std::set<std::string> used;
  for (const std::string file : {"deploy/k8s/base/graphopt.env", "deploy/k8s/base/deployment.yaml",
                                 "deploy/k8s/overlays/single/deployment-patch.yaml",
                                 "deploy/k8s/overlays/scaled/deployment-patch.yaml",
                                 "deploy/k8s/overlays/scaled/kustomization.yaml"}) {
    const std::string text = ReadText(SourcePath(file));
    ASSERT_FALSE(text.empty()) << file;
    for (const auto& name : GraphoptEnvNames(text)) used.insert(name);
  }
  for (const auto& name : used) {
    EXPECT_TRUE(known.count(name)) << name << " is not read by graphopt-server";
  }
}

// The server starts and becomes ready with the base ConfigMap's settings (its own values, so a
// typo such as an unknown log level or a malformed size is caught here, not in the cluster).
TEST(Kubernetes, ServerAcceptsTheBaseSettings) {
  const std::string server = ServerBinary();
  if (server.empty()) GTEST_SKIP() << "graphopt-server is not built";
  std::map<std::string, std::string> settings;
  std::istringstream in(ReadText(SourcePath("deploy/k8s/base/graphopt.env")));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.front() == '#') continue;
    const auto eq = line.find('=');
    ASSERT_NE(eq, std::string::npos) << line;
    settings[line.substr(0, eq)] = line.substr(eq + 1);
  }
  ASSERT_TRUE(settings.count("GRAPHOPT_GRACE_PERIOD"));
  // Addresses and the data directory are the fixture's (flags win over the environment).
  for (const auto& [key, value] : settings) {
    if (key == "GRAPHOPT_LISTEN" || key == "GRAPHOPT_METRICS_LISTEN" ||
        key == "GRAPHOPT_DATA_DIR") {
      continue;
    }
    setenv(key.c_str(), value.c_str(), 1);
  }
  std::string error;
  auto running = RunningServer::Start({}, &error);
  for (const auto& [key, value] : settings) unsetenv(key.c_str());
  ASSERT_NE(running, nullptr) << error;
  EXPECT_NE(running->Log().find("server_started"), std::string::npos) << running->Log();
}

}  // namespace
}  // namespace graphopt::testing
