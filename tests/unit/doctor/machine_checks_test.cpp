#include "tools/doctor/machine_checks.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tools/doctor/port_owner.h"
#include "tools/doctor/serve_checks.h"

namespace tandem::doctor {
namespace {

TEST(Meminfo, ReadsTotalAvailableAndSwap) {
  const auto m = parse_meminfo("MemTotal:       16384 kB\nMemFree:  100 kB\nMemAvailable:    8192 kB\n"
                               "SwapTotal:          0 kB\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->total_bytes, 16384u * 1024);
  EXPECT_EQ(m->available_bytes, 8192u * 1024);
  EXPECT_EQ(m->swap_total_bytes, 0u);
  EXPECT_FALSE(parse_meminfo("garbage\n"));
}

TEST(Swap, NoneIsAWarningWithAFix) {
  DoctorReport report;
  check_swap(MemoryFacts{1, 1, 0}, report);
  EXPECT_EQ(report.checks()[0].verdict, Verdict::kWarn);
  EXPECT_FALSE(report.checks()[0].fix.empty());
}

// NVML's absence, the real way: a library path that does not exist fails dlopen exactly as a host
// without the NVIDIA driver does. (NVML present is not faked; it runs on a host with a GPU.)
TEST(Gpu, NoDriverIsAPassThatSaysSo) {
  const std::string root = ::testing::TempDir() + "/doctor_proc_empty";
  std::filesystem::remove_all(root);
  DoctorReport report;
  check_gpu(report, root, "/nonexistent/libnvidia-ml.so.1");
  ASSERT_EQ(report.checks().size(), 1u);
  EXPECT_EQ(report.checks()[0].name, "machine.gpu");
  EXPECT_EQ(report.checks()[0].verdict, Verdict::kPass);
  EXPECT_NE(report.checks()[0].message.find("no NVIDIA GPU/driver found"), std::string::npos)
      << report.checks()[0].message;
  EXPECT_NE(report.checks()[0].message.find("could not be loaded"), std::string::npos);
}

TEST(Gpu, AGpuNvmlCannotMeasureIsAWarningWithAFix) {
  const std::string root = ::testing::TempDir() + "/doctor_proc";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root + "/driver/nvidia/gpus/0000:01:00.0");
  std::ofstream(root + "/driver/nvidia/gpus/0000:01:00.0/information") << "Model: \t NVIDIA H100\nIRQ: 1\n";
  DoctorReport report;
  check_gpu(report, root, "/nonexistent/libnvidia-ml.so.1");
  ASSERT_EQ(report.checks().size(), 1u);
  EXPECT_EQ(report.checks()[0].verdict, Verdict::kWarn);
  EXPECT_NE(report.checks()[0].message.find("NVIDIA H100"), std::string::npos);
  EXPECT_NE(report.checks()[0].fix.find("libnvidia-ml.so.1"), std::string::npos);
  std::filesystem::remove_all(root);
}

TEST(ListeningInodes, PicksListenersOnThePort) {
  const std::string tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0\n"
      "   1: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0\n"
      "   2: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0\n";
  EXPECT_EQ(listening_inodes(tcp, 8080), std::vector<uint64_t>{111});  // 0x1F90; 222 is a connection
  EXPECT_EQ(listening_inodes(tcp, 8081), std::vector<uint64_t>{333});
  EXPECT_TRUE(listening_inodes(tcp, 9000).empty());
  EXPECT_TRUE(listening_inodes("", 8080).empty());
}

TEST(Firewall, FindsRulesThatDropThePort) {
  const std::string nft =
      "table inet filter {\n"
      "  chain input {\n"
      "    type filter hook input priority 0; policy accept;\n"
      "    tcp dport 8080 drop\n"
      "    tcp dport 22 accept\n"
      "  }\n"
      "}\n";
  EXPECT_EQ(dropping_rules(nft, 8080), std::vector<std::string>{"tcp dport 8080 drop"});
  EXPECT_TRUE(dropping_rules(nft, 9000).empty());
  const std::string iptables = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 9000 -j ACCEPT\nCOMMIT\n";
  EXPECT_EQ(dropping_rules(iptables, 9000), std::vector<std::string>{":INPUT DROP [0:0]"});
}

TEST(MemoryNeed, FailsPastAvailableAndWarnsNearIt) {
  config::ServerConfig config;
  config.max_batch_size = 4;
  config.context_size = 1024;
  const uint64_t gib = 1ull << 30;
  DoctorReport report;
  check_memory_need(config, MemoryNeed{2 * gib, 1 * gib}, MemoryFacts{16 * gib, 8 * gib, 0}, report);
  check_memory_need(config, MemoryNeed{7 * gib, 1 * gib / 2}, MemoryFacts{16 * gib, 8 * gib, 0}, report);
  check_memory_need(config, MemoryNeed{7 * gib, 2 * gib}, MemoryFacts{16 * gib, 8 * gib, 0}, report);
  ASSERT_EQ(report.checks().size(), 3u);
  EXPECT_EQ(report.checks()[0].verdict, Verdict::kPass);
  EXPECT_EQ(report.checks()[1].verdict, Verdict::kWarn);
  EXPECT_EQ(report.checks()[2].verdict, Verdict::kFail);
  EXPECT_NE(report.checks()[2].fix.find("max_batch_size"), std::string::npos);
}

}  // namespace
}  // namespace tandem::doctor
