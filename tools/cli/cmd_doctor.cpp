// `tandem doctor [--config serve.json] [--gateway gateway.json] [--json]`: the deployment guide's
// troubleshooting checklist ("connection refused", "high latency", "out of memory") run for the
// configs given, one PASS/WARN/FAIL line per check with what was found and the fix. Exit status
// 1 when any check fails. Only the configs' addresses are contacted: a connect, then GET /health,
// or for a gateway's gRPC link the standard grpc.health.v1 Check (as the gateway probes it).

#include <cstdio>
#include <memory>

#include "command_registry.h"
#include "tools/doctor/doctor_check.h"
#include "tools/doctor/gateway_checks.h"
#include "tools/doctor/machine_checks.h"
#include "tools/doctor/serve_checks.h"

namespace {

struct DoctorOptions {
  std::string serve_config;
  std::string gateway_config;
  bool json = false;
};

void run_doctor(const DoctorOptions& o) {
  namespace doctor = tandem::doctor;
  doctor::DoctorReport report;
  const auto memory = doctor::read_memory();
  std::vector<int64_t> ports;
  if (!o.serve_config.empty()) {
    if (auto port = doctor::check_serve(o.serve_config, memory, report)) ports.push_back(*port);
  }
  if (!o.gateway_config.empty()) {
    if (auto port = doctor::check_gateway(o.gateway_config, report)) ports.push_back(*port);
  }
  doctor::check_cpu(report);
  doctor::check_swap(memory, report);
  doctor::check_gpu(report);
  if (!ports.empty()) doctor::check_firewall(ports, report);

  if (o.json) {
    std::fputs((report.to_json().dump(2) + "\n").c_str(), stdout);
  } else {
    std::fputs(report.to_text().c_str(), stdout);
  }
  if (report.has_failures()) throw tandem::cli::ExitCode{1};
}

void add_doctor(CLI::App& app) {
  auto* cmd = app.add_subcommand("doctor", "Check a deployment: configs, addresses, ports, links, model, memory");
  auto o = std::make_shared<DoctorOptions>();
  cmd->add_option("-c,--config", o->serve_config, "tandem serve's JSON config");
  cmd->add_option("-g,--gateway", o->gateway_config, "tandem gateway's JSON config");
  cmd->add_flag("--json", o->json, "Print {\"checks\": [{\"name\", \"status\", \"message\", \"fix\"}]}");
  cmd->footer("Exit status 1 when a check fails. Without a config only the machine is checked.");
  cmd->callback([o] { run_doctor(*o); });
}

}  // namespace

TANDEM_REGISTER_COMMAND(add_doctor);
