#include "tests/support/pnfsgw_server.h"

#include <chrono>

namespace pnfsgw::test {

PnfsgwServer::PnfsgwServer(std::string binary, std::vector<std::string> extra_args)
    : work_dir_("pnfsgw-libnfs"),
      data_dir_(work_dir_.path() + "/data"),
      extra_args_(std::move(extra_args)),
      process_(std::move(binary)) {}

bool PnfsgwServer::start(std::string* err) {
  // Logs go to the work dir, beside the data dir, not in it.
  return process_.start(data_dir_, work_dir_.path(), extra_args_, std::chrono::seconds(30), err);
}

int PnfsgwServer::stop(int timeout_s) { return process_.stop(std::chrono::seconds(timeout_s)); }

}  // namespace pnfsgw::test
