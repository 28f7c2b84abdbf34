#include "gateway/common/create_verifier.h"

#include <cstring>

namespace pnfsgw::gw {

backend::SetAttr verifier_times(const CreateVerifier& v) {
  backend::SetAttr sa;
  uint32_t a, m;
  memcpy(&a, &v[0], 4);
  memcpy(&m, &v[4], 4);
  sa.atime_how = sa.mtime_how = backend::SetAttr::TimeHow::kGiven;
  sa.atime = {static_cast<int64_t>(a), 0};
  sa.mtime = {static_cast<int64_t>(m), 0};
  return sa;
}

bool verifier_matches(const backend::Attr& a, const CreateVerifier& v) {
  backend::SetAttr sa = verifier_times(v);
  return a.atime == sa.atime && a.mtime == sa.mtime;
}

}  // namespace pnfsgw::gw
