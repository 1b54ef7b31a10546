// Names of the load-error categories, for messages and test output.
// SPDX-License-Identifier: Apache-2.0
#include "runtime/base/result.hpp"

namespace tollgate::runtime {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::malformed:
      return "malformed";
    case ErrorKind::invalid:
      return "invalid";
    case ErrorKind::unlinkable:
      return "unlinkable";
    case ErrorKind::uninstantiable:
      return "uninstantiable";
    case ErrorKind::resource:
      return "resource";
    case ErrorKind::unsupported:
      return "unsupported";
  }
  return "unknown";
}

}  // namespace tollgate::runtime
