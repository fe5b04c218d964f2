// Where a filesystem passphrase comes from. Never from the command line:
// 1. the fs-passphrase of the matching authinfo section;
// 2. else, when stdin is a terminal, a prompt without echo (mkfs asks twice);
// 3. else one line of stdin (for scripts: `echo secret | mount.hoardfs ...`).
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include "hoardfs/status.h"

namespace hoardfs::tools {

enum class PassphraseSource { kAuthinfo, kTerminal, kStdinLine };

PassphraseSource choose_passphrase_source(bool authinfo_has_passphrase, bool stdin_is_terminal);

// Reads one line from `in` without its line ending ("\n" or "\r\n").
// invalid_argument when the stream ends before any character was read.
Result<std::string> read_passphrase_line(std::FILE* in);

struct PassphraseRequest {
  std::optional<std::string> from_authinfo;
  bool confirm = false;    // ask twice on a terminal (mkfs, new passphrase)
  bool allow_empty = false;
  std::string prompt = "Passphrase: ";
};

// Obtains the passphrase following the order above; stdin and the terminal
// are the process's own. invalid_argument on end of input, a mismatch of the
// two entries, or an empty passphrase when it is not allowed.
Result<std::string> obtain_passphrase(const PassphraseRequest& request);

}  // namespace hoardfs::tools
