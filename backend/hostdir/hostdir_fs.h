// HostDirFs: a Filesystem over a directory of the host's filesystem. It is
// the first export source and stays as the lower-layer source for host
// directories. See backend/fs.h for the contract.
#pragma once
#include <memory>
#include <string>

#include "backend/fs.h"

namespace pnfsgw::backend {

// Opens root_path (which must exist and be a directory) as a HostDirFs.
// Errors: errno of the failing open/stat, EOPNOTSUPP if the host filesystem
// cannot produce persistent handles.
Result<std::unique_ptr<Filesystem>> open_hostdir_fs(const std::string& root_path);

}  // namespace pnfsgw::backend
