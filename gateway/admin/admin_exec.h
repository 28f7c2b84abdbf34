// Runs admin commands against the export's Filesystem: resolves export
// paths with lookup() from root(), calls the space operations, formats the
// output. Changes go through the same Filesystem the NFS server uses, which
// advances the files' change attribute, so NFS clients see them.
//
// Stateless; safe from any thread (the Filesystem is).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "backend/fs.h"
#include "gateway/admin/admin_protocol.h"
#include "gateway/admin/admin_request.h"

namespace pnfsgw::admin {

// Resolves an export path component by component from fs.root(), never
// following symlinks. On failure returns the errno with a message naming
// PATH in *error ("/a/b: No such file or directory", "/a/b: 'a' is not a
// directory", ...).
Result<backend::Attr> resolve_path(backend::Filesystem& fs, std::string_view path,
                                   std::string* error);

// Parses and runs words (a command line); never throws, always replies.
AdminReply run_command(backend::Filesystem& fs, const std::vector<std::string>& words);
AdminReply execute(backend::Filesystem& fs, const AdminRequest& req);

// At most this many rows in `extents` output; the rest is summarized.
inline constexpr size_t kMaxExtentRows = 100000;

}  // namespace pnfsgw::admin
