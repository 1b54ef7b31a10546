// `tollgate wasm validate|run|inspect`: work on one WebAssembly module from the command line.
// SPDX-License-Identifier: Apache-2.0
#include "server/cli/wasm_command.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>

#include "runtime/base/limits.hpp"
#include "runtime/module.hpp"
#include "runtime/store.hpp"
#include "server/cli/engine_option.hpp"
#include "server/cli/value_text.hpp"

namespace tollgate::server::cli {
namespace {

using runtime::Module;

/// The whole file, or nullopt after saying why on stderr. Reading stops past the module size
/// limit, so a huge or endless file (a FIFO, /dev/zero) cannot exhaust memory.
std::optional<std::vector<uint8_t>> read_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) {
    std::fprintf(stderr, "tollgate: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    return std::nullopt;
  }
  std::vector<uint8_t> bytes;
  uint8_t chunk[65536];
  while (size_t got = std::fread(chunk, 1, sizeof chunk, file.get())) {
    if (bytes.size() + got > runtime::kMaxModuleSize) {
      std::fprintf(stderr, "tollgate: %s: larger than the module size limit (%u bytes)\n",
                   path.c_str(), runtime::kMaxModuleSize);
      return std::nullopt;
    }
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
  if (std::ferror(file.get())) {
    std::fprintf(stderr, "tollgate: cannot read %s: %s\n", path.c_str(), std::strerror(errno));
    return std::nullopt;
  }
  return bytes;
}

void print_error(const std::string& path, const runtime::Error& error) {
  // Linking and instantiation problems have no place in the binary worth printing.
  if (error.kind == runtime::ErrorKind::unlinkable ||
      error.kind == runtime::ErrorKind::uninstantiable) {
    std::fprintf(stderr, "tollgate: %s: %s: %s\n", path.c_str(),
                 runtime::error_kind_name(error.kind), error.message.c_str());
    return;
  }
  std::fprintf(stderr, "tollgate: %s: %s at byte offset %u (0x%x): %s\n", path.c_str(),
               runtime::error_kind_name(error.kind), error.offset, error.offset,
               error.message.c_str());
}

/// Reads and decodes `path`, or says why not on stderr.
std::shared_ptr<const Module> load_module(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes)
    return nullptr;
  auto module = runtime::decode_module(*bytes);
  if (!module) {
    print_error(path, module.error());
    return nullptr;
  }
  return std::move(module).value();
}

int run_validate(const std::string& path) {
  if (!load_module(path))
    return kExitFailed;
  std::printf("valid\n");
  return kExitOk;
}

std::string type_list(const std::vector<runtime::ValType>& types) {
  std::string text;
  for (runtime::ValType type : types) {
    if (!text.empty())
      text += ", ";
    text += runtime::val_type_name(type);
  }
  return text;
}

/// The names of the exported functions, for "no such export" messages.
std::string exported_functions(const Module& module) {
  std::string names;
  for (const runtime::Export& e : module.exports) {
    if (e.kind != runtime::ExternKind::func)
      continue;
    names += names.empty() ? "" : ", ";
    names += e.name;
  }
  return names.empty() ? "none" : names;
}

int run_invoke(const std::string& path,
               const std::string& name,
               const std::vector<std::string>& arg_texts,
               std::optional<uint64_t> fuel,
               const EngineFlags& engine_flags) {
  const std::optional<const runtime::Engine*> engine = select_engine(engine_flags);
  if (!engine)
    return kExitFailed;
  auto module = load_module(path);
  if (!module)
    return kExitFailed;
  const runtime::Export* exported = module->find_export(name);
  if (exported == nullptr) {
    std::fprintf(stderr, "tollgate: %s: no export named `%s` (exported functions: %s)\n",
                 path.c_str(), name.c_str(), exported_functions(*module).c_str());
    return kExitFailed;
  }
  if (exported->kind != runtime::ExternKind::func) {
    std::fprintf(stderr, "tollgate: %s: export `%s` is a %s, not a function\n", path.c_str(),
                 name.c_str(), runtime::extern_kind_name(exported->kind));
    return kExitFailed;
  }
  const runtime::FuncType& type = module->func_type(exported->index);
  if (arg_texts.size() != type.params.size()) {
    std::fprintf(stderr, "tollgate: `%s` takes %zu argument%s (%s) but %zu %s given\n",
                 name.c_str(), type.params.size(), type.params.size() == 1 ? "" : "s",
                 type_list(type.params).c_str(), arg_texts.size(),
                 arg_texts.size() == 1 ? "was" : "were");
    return kExitFailed;
  }
  std::vector<runtime::Value> args;
  for (size_t i = 0; i < arg_texts.size(); ++i) {
    ParsedValue parsed = parse_value(type.params[i], arg_texts[i]);
    if (!parsed.value) {
      std::fprintf(stderr, "tollgate: argument %zu of `%s`: %s\n", i + 1, name.c_str(),
                   parsed.error.c_str());
      return kExitFailed;
    }
    args.push_back(*parsed.value);
  }

  runtime::Store store;
  store.set_engine(*engine);
  runtime::CallOptions options;
  options.fuel = fuel;
  // No host functions are offered yet, so only import-free modules link. A start function gets
  // the same fuel budget as the call, separately: the budget bounds each run of guest code.
  auto instance = runtime::Linker{}.instantiate(store, module, options);
  if (!instance) {
    print_error(path, instance.error());
    if (!module->imports.empty())
      std::fprintf(stderr, "tollgate: `wasm run` provides no imports; this module has %zu\n",
                   module->imports.size());
    return instance.error().kind == runtime::ErrorKind::uninstantiable ? kExitTrapped : kExitFailed;
  }
  runtime::Function* func = instance.value()->exported_function(name);
  if (func == nullptr) {
    // An exported import would be a host function; with no imports this cannot happen.
    std::fprintf(stderr, "tollgate: %s: export `%s` did not resolve\n", path.c_str(), name.c_str());
    return kExitFailed;
  }
  runtime::CallResult result = runtime::call(store, *func, args, options);
  if (result.ok()) {
    for (const runtime::Value& value : result.values)
      std::printf("%s\n", runtime::to_string(value).c_str());
  } else {
    std::fprintf(stderr, "tollgate: trap: %s\n", result.trap->message().c_str());
  }
  // Results first, then the fuel report, even when stdout is a pipe and stderr is not.
  std::fflush(stdout);
  if (fuel)
    std::fprintf(stderr, "fuel used: %llu\n",
                 static_cast<unsigned long long>(*fuel - result.fuel_left));
  return result.ok() ? kExitOk : kExitTrapped;
}

std::string limits_text(const runtime::Limits& limits) {
  std::string text = "min " + std::to_string(limits.min);
  if (limits.max)
    text += ", max " + std::to_string(*limits.max);
  return text;
}

/// What an import or export of `kind` with index-space entry `index` is, in one line.
std::string describe_entity(const Module& module, runtime::ExternKind kind, uint32_t index) {
  switch (kind) {
    case runtime::ExternKind::func:
      return runtime::to_string(module.func_type(index));
    case runtime::ExternKind::table:
      return std::string(runtime::val_type_name(module.tables[index].elem)) + ", " +
             limits_text(module.tables[index].limits);
    case runtime::ExternKind::memory:
      return limits_text(module.memories[index].limits) + " pages";
    case runtime::ExternKind::global: {
      const runtime::GlobalType& global = module.globals[index];
      return std::string(global.mutable_ ? "mut " : "") + runtime::val_type_name(global.type);
    }
  }
  return "";
}

int run_inspect(const std::string& path) {
  auto module = load_module(path);
  if (!module)
    return kExitFailed;
  std::printf("functions: %zu (%u imported), tables: %zu, memories: %zu, globals: %zu\n",
              module->funcs.size(), module->num_imported_funcs, module->tables.size(),
              module->memories.size(), module->globals.size());
  std::printf("data segments: %zu, element segments: %zu, start: %s\n", module->datas.size(),
              module->elems.size(),
              module->start ? module->func_display_name(*module->start).c_str() : "none");
  // Imports take the first indices of each index space, in import order.
  uint32_t next_index[4] = {0, 0, 0, 0};
  std::printf("imports: %zu\n", module->imports.size());
  for (const runtime::Import& import : module->imports) {
    uint32_t index = next_index[static_cast<int>(import.kind)]++;
    std::printf("  %-6s %s.%s: %s\n", runtime::extern_kind_name(import.kind), import.module.c_str(),
                import.name.c_str(), describe_entity(*module, import.kind, index).c_str());
  }
  std::printf("exports: %zu\n", module->exports.size());
  for (const runtime::Export& e : module->exports)
    std::printf("  %-6s %s: %s\n", runtime::extern_kind_name(e.kind), e.name.c_str(),
                describe_entity(*module, e.kind, e.index).c_str());
  std::printf("custom sections: %zu\n", module->customs.size());
  for (const runtime::CustomSection& custom : module->customs)
    std::printf("  %s: %zu bytes at offset %u\n", custom.name.c_str(), custom.bytes.size(),
                custom.offset);
  return kExitOk;
}

}  // namespace

WasmCommand::WasmCommand(CLI::App& parent) {
  CLI::App* wasm = parent.add_subcommand("wasm", "Work on one WebAssembly module");
  wasm->require_subcommand(1);

  validate_ = wasm->add_subcommand(
      "validate",
      "Decode and validate FILE; print `valid`, or the error kind, byte offset and "
      "message (exit 1)");
  validate_->add_option("FILE", file_, "a binary .wasm module")->required();

  run_ =
      wasm->add_subcommand("run", "Instantiate FILE (no imports) and call one exported function");
  run_->add_option("FILE", file_, "a binary .wasm module")->required();
  run_->add_option("--invoke", invoke_, "the exported function to call")->required();
  run_->add_option("ARGS", args_,
                   "arguments, one per parameter: integers (decimal or 0x hex), floats (also inf, "
                   "nan, nan:0xPAYLOAD); put `--` before them if one starts with `-` and is not "
                   "a number");
  run_->add_option("--fuel", fuel_, "meter the call with this much fuel and print the fuel used");
  add_engine_options(*run_, engine_);
  run_->footer(
      "Prints each result as TYPE:VALUE on its own line. Exit status: 0 on success, 1 when the "
      "module or the arguments are unusable, 2 when the module traps (out of fuel included).");

  inspect_ = wasm->add_subcommand("inspect", "List FILE's imports, exports and custom sections");
  inspect_->add_option("FILE", file_, "a binary .wasm module")->required();
}

std::optional<int> WasmCommand::dispatch() const {
  if (validate_->parsed())
    return run_validate(file_);
  if (run_->parsed())
    return run_invoke(file_, invoke_, args_, fuel_, engine_);
  if (inspect_->parsed())
    return run_inspect(file_);
  return std::nullopt;
}

}  // namespace tollgate::server::cli
