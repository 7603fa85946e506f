#include <gtest/gtest.h>

#include <algorithm>

#include "fixture_tree.h"
#include "monitor/collectors.h"

namespace tandem::monitor {
namespace {

using testing::FixtureTree;

std::optional<double> value_of(const Readings& readings, const std::string& name, const Labels& labels = {}) {
  for (const auto& r : readings) {
    if (r.name == name && r.labels == labels) return r.value;
  }
  return std::nullopt;
}

TEST(MemoryCollector, ReadsTotalAndUsedFromMeminfo) {
  FixtureTree tree;
  tree.write("meminfo", "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    250 kB\nBuffers: 5 kB\n");
  MemoryCollector c(tree.root());
  const auto r = c.sample(0);
  ASSERT_TRUE(r);
  EXPECT_EQ(value_of(*r, "host_memory_total_bytes"), 1000.0 * 1024);
  EXPECT_EQ(value_of(*r, "host_memory_used_bytes"), 750.0 * 1024);
  EXPECT_EQ(value_of(*r, "host_memory_available_bytes"), 250.0 * 1024);
}

TEST(MemoryCollector, AbsentWhenMissingUnreadableOrIncomplete) {
  FixtureTree tree;
  MemoryCollector c(tree.root());
  EXPECT_FALSE(c.sample(0));  // no file
  tree.unreadable("meminfo");
  EXPECT_FALSE(c.sample(0));
  tree.remove("meminfo");
  tree.write("meminfo", "MemTotal: 1000 kB\n");  // an old kernel without MemAvailable
  EXPECT_FALSE(c.sample(0));
  tree.write("meminfo", "garbage\n:\nMemTotal: x kB\n");
  EXPECT_FALSE(c.sample(0));
}

TEST(CpuCollector, UsageNeedsTwoSamples) {
  FixtureTree tree;
  // user nice system idle iowait irq softirq steal
  tree.write("stat", "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 50 0 50 350 50 0 0 0\ncpu1 50 0 50 350 50 0 0 0\nintr 1\n");
  CpuCollector c(tree.root());
  auto r = c.sample(0);
  ASSERT_TRUE(r);
  EXPECT_FALSE(value_of(*r, "host_cpu_usage_ratio"));
  EXPECT_EQ(value_of(*r, "host_cpus"), 2.0);
  tree.write("stat", "cpu  150 0 150 750 150 0 0 0 0 0\ncpu0 1 0 0 0\ncpu1 1 0 0 0\n");
  r = c.sample(1);
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(*value_of(*r, "host_cpu_usage_ratio"), 0.5);  // 100 busy of 200
}

TEST(ProcessCollector, ReadsThisProcessFromRealProc) {
  ProcessCollector c("/proc");
  const auto r = c.sample(0);
  ASSERT_TRUE(r);
  EXPECT_GT(*value_of(*r, "process_resident_bytes"), 0);
  EXPECT_TRUE(value_of(*r, "process_cpu_seconds_total"));
}

TEST(ProcessCollector, CommandNamesWithSpacesAndParentheses) {
  FixtureTree tree;
  tree.write("self/stat", "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 300 200 0 0\n");
  tree.write("self/statm", "100 10 0 0 0 0 0\n");
  ProcessCollector c(tree.root());
  const auto r = c.sample(0);
  ASSERT_TRUE(r);
  EXPECT_NEAR(*value_of(*r, "process_cpu_seconds_total"), 500.0 / static_cast<double>(sysconf(_SC_CLK_TCK)), 1e-9);
}

TEST(NetworkCollector, PerInterfaceCounters) {
  FixtureTree tree;
  tree.write("net/dev",
             "Inter-|   Receive                                                |  Transmit\n"
             " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
             "    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n"
             "  eth0: 123456789012 5 0 0 0 0 0 0 42 9 0 0 0 0 0 0\n"
             "  bad: 1 2\n");
  NetworkCollector c(tree.root());
  const auto r = c.sample(0);
  ASSERT_TRUE(r);
  EXPECT_EQ(value_of(*r, "network_receive_bytes_total", {{"device", "eth0"}}), 123456789012.0);
  EXPECT_EQ(value_of(*r, "network_transmit_bytes_total", {{"device", "eth0"}}), 42.0);
  EXPECT_EQ(value_of(*r, "network_receive_bytes_total", {{"device", "lo"}}), 1000.0);
  EXPECT_FALSE(value_of(*r, "network_receive_bytes_total", {{"device", "bad"}}));
}

TEST(TemperatureCollector, HwmonWithAndWithoutLabelsAndThermalZones) {
  FixtureTree tree;
  tree.write("class/hwmon/hwmon0/name", "coretemp\n");
  tree.write("class/hwmon/hwmon0/temp1_input", "45000\n");
  tree.write("class/hwmon/hwmon0/temp1_label", "Package id 0\n");
  tree.write("class/hwmon/hwmon0/temp2_input", "41500\n");  // no label: named after the file
  tree.write("class/hwmon/hwmon0/temp2_crit", "100000\n");  // not an input
  tree.write("class/hwmon/hwmon1/name", "nvme\n");
  tree.write("class/hwmon/hwmon1/temp1_input", "38850\n");
  tree.write("class/thermal/thermal_zone0/type", "x86_pkg_temp\n");
  tree.write("class/thermal/thermal_zone0/temp", "47000\n");
  TemperatureCollector c(tree.root());
  const auto r = c.sample(0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 4u);
  EXPECT_EQ(value_of(*r, "temperature_celsius", {{"sensor", "coretemp/Package id 0"}}), 45.0);
  EXPECT_EQ(value_of(*r, "temperature_celsius", {{"sensor", "coretemp/temp2"}}), 41.5);
  EXPECT_EQ(value_of(*r, "temperature_celsius", {{"sensor", "nvme/temp1"}}), 38.85);
  EXPECT_EQ(value_of(*r, "temperature_celsius", {{"sensor", "thermal/x86_pkg_temp"}}), 47.0);
}

TEST(TemperatureCollector, UnreadableSensorsAreLeftOutAndNoSensorIsAbsent) {
  FixtureTree tree;
  TemperatureCollector empty(tree.root());
  EXPECT_FALSE(empty.sample(0));  // no hwmon, no thermal: absent, not 0 °C

  tree.write("class/hwmon/hwmon0/name", "acpitz\n");
  tree.unreadable("class/hwmon/hwmon0/temp1_input");
  tree.write("class/thermal/thermal_zone0/temp", "not a number\n");
  TemperatureCollector c(tree.root());
  EXPECT_FALSE(c.sample(0));
  tree.write("class/hwmon/hwmon0/temp2_input", "30000\n");
  EXPECT_FALSE(c.sample(1)) << "the sensor list is kept until the next rescan";
  const auto r = c.sample(61);
  ASSERT_TRUE(r);
  EXPECT_EQ(value_of(*r, "temperature_celsius", {{"sensor", "acpitz/temp2"}}), 30.0);
}

TEST(TemperatureCollector, FollowsAValueThatChanges) {
  FixtureTree tree;
  tree.write("class/thermal/thermal_zone3/type", "gpu\n");
  tree.write("class/thermal/thermal_zone3/temp", "50000");
  TemperatureCollector c(tree.root());
  EXPECT_EQ(value_of(*c.sample(0), "temperature_celsius", {{"sensor", "thermal/gpu"}}), 50.0);
  tree.write("class/thermal/thermal_zone3/temp", "80000");
  EXPECT_EQ(value_of(*c.sample(1), "temperature_celsius", {{"sensor", "thermal/gpu"}}), 80.0);
}

TEST(PowerCollector, WattsFromTwoSamplesOfTheEnergyCounter) {
  FixtureTree tree;
  tree.write("class/powercap/intel-rapl/enabled", "1\n");  // the control type, no counter
  tree.write("class/powercap/intel-rapl:0/name", "package-0\n");
  tree.write("class/powercap/intel-rapl:0/energy_uj", "1000000\n");
  tree.write("class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
  tree.write("class/powercap/intel-rapl:0:0/name", "core\n");
  tree.write("class/powercap/intel-rapl:0:0/energy_uj", "500000\n");
  PowerCollector c(tree.root());
  auto r = c.sample(10);
  ASSERT_TRUE(r) << "counters are there: present, with no watts yet";
  EXPECT_TRUE(r->empty());
  tree.write("class/powercap/intel-rapl:0/energy_uj", "31000000\n");  // 30 J in 2 s
  tree.write("class/powercap/intel-rapl:0:0/energy_uj", "10500000\n");
  r = c.sample(12);
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(*value_of(*r, "power_watts", {{"source", "rapl/0/package-0"}}), 15.0);
  EXPECT_DOUBLE_EQ(*value_of(*r, "power_watts", {{"source", "rapl/0:0/core"}}), 5.0);
}

TEST(PowerCollector, CounterThatWraps) {
  FixtureTree tree;
  tree.write("class/powercap/intel-rapl:0/name", "package-0\n");
  tree.write("class/powercap/intel-rapl:0/max_energy_range_uj", "1000000000\n");
  tree.write("class/powercap/intel-rapl:0/energy_uj", "999000000\n");
  PowerCollector c(tree.root());
  c.sample(0);
  tree.write("class/powercap/intel-rapl:0/energy_uj", "9000000\n");  // 1 J to the wrap, 9 J after
  const auto r = c.sample(1);
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(*value_of(*r, "power_watts", {{"source", "rapl/0/package-0"}}), 10.0);
}

TEST(PowerCollector, WrapWithoutRangeSkipsTheInterval) {
  FixtureTree tree;
  tree.write("class/powercap/intel-rapl:0/name", "package-0\n");
  tree.write("class/powercap/intel-rapl:0/energy_uj", "900\n");
  PowerCollector c(tree.root());
  c.sample(0);
  tree.write("class/powercap/intel-rapl:0/energy_uj", "100\n");
  const auto r = c.sample(1);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  tree.write("class/powercap/intel-rapl:0/energy_uj", "2000100\n");
  EXPECT_DOUBLE_EQ(*value_of(*c.sample(2), "power_watts", {{"source", "rapl/0/package-0"}}), 2.0);
}

TEST(PowerCollector, UnreadableCountersAreAbsent) {
  FixtureTree tree;
  tree.write("class/powercap/intel-rapl:0/name", "package-0\n");
  tree.unreadable("class/powercap/intel-rapl:0/energy_uj");  // root-only on recent kernels
  PowerCollector c(tree.root());
  EXPECT_FALSE(c.sample(0));
  EXPECT_FALSE(c.sample(1));
  FixtureTree none;
  EXPECT_FALSE(PowerCollector(none.root()).sample(0));
}

TEST(NvmlCollector, AbsentWithoutTheLibrary) {
  NvmlCollector missing("libnvidia-ml-not-here.so.1");
  EXPECT_FALSE(missing.loaded());
  EXPECT_FALSE(missing.sample(0));
  NvmlCollector off("");
  EXPECT_FALSE(off.sample(0));
  // A library that is not NVML at all.
  NvmlCollector wrong("libm.so.6");
  EXPECT_FALSE(wrong.loaded());
  EXPECT_FALSE(wrong.sample(0));
}

TEST(HostCollectors, RealProcAndSysNeverThrow) {
  auto collectors = host_collectors("/proc", "/sys", "libnvidia-ml.so.1");
  ASSERT_EQ(collectors.size(), 7u);
  for (auto& c : collectors) {
    c->sample(0);
    c->sample(1);
  }
  EXPECT_TRUE(collectors[0]->sample(2));  // /proc/meminfo is on every Linux host
}

}  // namespace
}  // namespace tandem::monitor
