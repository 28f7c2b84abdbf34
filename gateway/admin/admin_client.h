// The `pnfsgw admin` command line: checks the command locally, sends it to
// the server's admin socket, prints the reply.
//
//   pnfsgw admin [--data DIR | --socket PATH] COMMAND ARGS...
//
// Exit status: 0 success; 1 the server refused or failed the command, or
// could not be reached; 2 usage errors (unknown command, bad number).
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "gateway/admin/admin_protocol.h"

namespace pnfsgw::admin {

// argv after "admin" (argc words).
int admin_main(int argc, char** argv);

// Sends words to the admin socket at socket_path and waits up to timeout for
// the reply. On a transport failure returns false with a message in *error
// ("cannot connect to PATH: ...").
bool call_admin(const std::string& socket_path, const std::vector<std::string>& words,
                std::chrono::milliseconds timeout, AdminReply* reply, std::string* error);

}  // namespace pnfsgw::admin
