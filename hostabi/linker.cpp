// Defining host functions into a runtime::Linker, creating only those a module imports.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/linker.hpp"

namespace tollgate::hostabi {

void define_imported(runtime::Linker& linker,
                     runtime::Store& store,
                     const runtime::Module& module,
                     std::string_view import_module,
                     const HostResolver& resolve) {
  for (const auto& imp : module.imports) {
    if (imp.kind != runtime::ExternKind::func || imp.module != import_module)
      continue;
    auto def = resolve(imp.name);
    if (!def)
      continue;
    runtime::Function* f = store.create_host_function(std::move(def->type), std::move(def->fn));
    linker.define(imp.module, imp.name, runtime::Extern::of(f));
  }
}

bool imports_from(const runtime::Module& module, std::string_view import_module) {
  for (const auto& imp : module.imports)
    if (imp.module == import_module)
      return true;
  return false;
}

}  // namespace tollgate::hostabi
