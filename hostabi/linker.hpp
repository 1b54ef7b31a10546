// Defining host functions into a runtime::Linker, creating only those a module imports.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/store.hpp"

namespace tollgate::hostabi {

/// A host function ready to be allocated in a store.
struct HostDefinition {
  runtime::FuncType type;
  runtime::HostFunc fn;
};

/// Given an import name, the host function for it, or nullopt when the host has none.
using HostResolver = std::function<std::optional<HostDefinition>(std::string_view name)>;

/// Defines (`import_module`, name) in `linker` for every function `module` imports from
/// `import_module` that `resolve` knows. Host functions are allocated in `store` afresh for each
/// evaluation, so creating only the imported ones keeps instantiation cheap. Names the resolver
/// does not know stay undefined and the linker reports them as unlinkable; a signature that does
/// not match is reported by the linker the same way.
void define_imported(runtime::Linker& linker,
                     runtime::Store& store,
                     const runtime::Module& module,
                     std::string_view import_module,
                     const HostResolver& resolve);

/// True when `module` imports anything from `import_module`.
bool imports_from(const runtime::Module& module, std::string_view import_module);

}  // namespace tollgate::hostabi
