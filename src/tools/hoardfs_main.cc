// hoardfs: work with a mounted filesystem (stat, ctrl, ...); one subcommand
// per file, see commands.h.
#include "tools/allocator.h"
#include "tools/commands.h"
#include "tools/tool_common.h"

int main(int argc, char** argv) {
  using namespace hoardfs::tools;

  CLI::App app;
  configure_app(app, "hoardfs", "1");
  app.description("Inspect and control hoardfs filesystems.");
  app.require_subcommand(1);

  CommandRunner selected;
  add_stat_command(app, &selected);
  add_ctrl_command(app, &selected);
  add_adm_command(app, &selected);
  add_verify_command(app, &selected);
  add_tree_commands(app, &selected);

  if (int done = parse_command_line(app, argc, argv); done >= 0) return done;
  keep_block_buffers_in_heap();  // verify --data decodes every object (only slower if refused)
  return selected ? selected() : hoardfs::exit_code::kUsage;
}
