// `tollgate manifests`: Kubewarden policy YAML to policies.yml and plain-webhook manifests.
// SPDX-License-Identifier: Apache-2.0
//
// Runs tollgate as a plain admission webhook without the Kubewarden controller: reads
// ClusterAdmissionPolicy, AdmissionPolicy (and their Group variants) and writes what the
// controller would create: the policies.yml (in a ConfigMap), a ValidatingWebhookConfiguration
// and a MutatingWebhookConfiguration (for mutating policies) pointing at
// /validate/<uniqueName>, a Deployment and a Service.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>

#include "runtime/base/result.hpp"

namespace tollgate::server::cli {

struct ManifestOptions {
  std::string name = "tollgate";          ///< Deployment, Service, ConfigMap and webhook prefix
  std::string namespace_ = "kubewarden";  ///< where tollgate runs (always accepted)
  std::string image = "tollgate:latest";
  std::string tls_secret;                    ///< secret with tls.crt/tls.key; "" = <name>-tls
  std::string ca_bundle;                     ///< PEM of the CA that signed the serving cert
  std::optional<std::string> policy_server;  ///< only policies with this spec.policyServer
  int replicas = 1;
};

struct Manifests {
  boost::json::object policies;  ///< the policies.yml content
  std::string yaml;              ///< every manifest, `---` separated
};

/// The controller's unique name: clusterwide-<name>, namespaced-<ns>-<name>, and the
/// -group- variants for policy groups; nullopt for an unsupported kind.
std::optional<std::string> unique_name(const boost::json::value& policy);

/// Converts the policy documents (other kinds are an error) into the manifests.
runtime::Result<Manifests> render_manifests(const std::vector<boost::json::value>& documents,
                                            const ManifestOptions& options);

/// Registers its subcommands on `parent`; CLI11 writes parsed options into this object, so it
/// must outlive parsing.
class ManifestsCommand {
 public:
  explicit ManifestsCommand(CLI::App& parent);
  ManifestsCommand(const ManifestsCommand&) = delete;
  ManifestsCommand& operator=(const ManifestsCommand&) = delete;

  /// After parsing: runs the chosen subcommand and returns its exit code, or nullopt when the
  /// command line chose none of this group's subcommands.
  std::optional<int> dispatch() const;

 private:
  CLI::App* command_ = nullptr;
  std::vector<std::string> files_;
  std::string ca_file_;
  std::string policies_out_;
  std::string policy_server_;
  ManifestOptions options_;
};

}  // namespace tollgate::server::cli
