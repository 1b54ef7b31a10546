// Module lookups used by embedders: exports, custom sections and display names.
// SPDX-License-Identifier: Apache-2.0
#include "runtime/module.hpp"

namespace tollgate::runtime {

const Export* Module::find_export(std::string_view name) const {
  for (const Export& e : exports) {
    if (e.name == name)
      return &e;
  }
  return nullptr;
}

const CustomSection* Module::find_custom(std::string_view name) const {
  for (const CustomSection& c : customs) {
    if (c.name == name)
      return &c;
  }
  return nullptr;
}

std::string Module::func_display_name(FuncIdx f) const {
  auto it = names.function_names.find(f);
  if (it != names.function_names.end())
    return "$" + it->second;
  return "func[" + std::to_string(f) + "]";
}

}  // namespace tollgate::runtime
