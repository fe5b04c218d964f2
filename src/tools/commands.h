// Subcommands of the `hoardfs` tool. Each lives in its own file and adds
// itself to the CLI11 app with an add_*_command() function; when the user
// picks it, its callback stores the function to run in *selected.
// To add one (cp, rm, lock, adm, verify, ...): write <name>_command.cc with
// add_<name>_command(), declare it here, list it in hoardfs_main.cc and in
// src/tools/meson.build.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace hoardfs::tools {

// Returns the process exit code.
using CommandRunner = std::function<int()>;

void add_stat_command(CLI::App& root, CommandRunner* selected);
void add_ctrl_command(CLI::App& root, CommandRunner* selected);
void add_adm_command(CLI::App& root, CommandRunner* selected);
void add_verify_command(CLI::App& root, CommandRunner* selected);
void add_tree_commands(CLI::App& root, CommandRunner* selected);  // cp, lock, rm

}  // namespace hoardfs::tools
