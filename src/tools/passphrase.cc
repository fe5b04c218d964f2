#include "tools/passphrase.h"

#include <signal.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hoardfs::tools {
namespace {

// The terminal settings to restore if the user interrupts a prompt, so that
// the shell does not stay without echo.
struct termios g_saved_termios;
volatile sig_atomic_t g_echo_disabled = 0;

extern "C" void restore_echo_and_reraise(int signal_number) {
  if (g_echo_disabled) tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

// Prompts on stderr and reads one line from the terminal on stdin, echo off.
Result<std::string> prompt_without_echo(const std::string& prompt) {
  std::fputs(prompt.c_str(), stderr);
  std::fflush(stderr);
  bool echo_off = false;
  struct sigaction action {}, old_int {}, old_term {};
  if (tcgetattr(STDIN_FILENO, &g_saved_termios) == 0) {
    struct termios quiet = g_saved_termios;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    action.sa_handler = restore_echo_and_reraise;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &old_int);
    ::sigaction(SIGTERM, &action, &old_term);
    echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    g_echo_disabled = echo_off ? 1 : 0;
  }
  Result<std::string> line = read_passphrase_line(stdin);
  if (echo_off) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);
    g_echo_disabled = 0;
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
  }
  return line;
}

void wipe(std::string& secret) {
  if (!secret.empty()) sodium_memzero(secret.data(), secret.size());
  secret.clear();
}

}  // namespace

PassphraseSource choose_passphrase_source(bool authinfo_has_passphrase, bool stdin_is_terminal) {
  if (authinfo_has_passphrase) return PassphraseSource::kAuthinfo;
  return stdin_is_terminal ? PassphraseSource::kTerminal : PassphraseSource::kStdinLine;
}

Result<std::string> read_passphrase_line(std::FILE* in) {
  std::string line;
  bool got_any = false;
  for (;;) {
    int c = std::fgetc(in);
    if (c == EOF) {
      if (std::ferror(in) && errno == EINTR) {
        std::clearerr(in);
        continue;
      }
      break;
    }
    got_any = true;
    if (c == '\n') break;
    line.push_back(static_cast<char>(c));
  }
  if (!got_any) return Status::invalid_argument("no passphrase given (end of input)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<std::string> obtain_passphrase(const PassphraseRequest& request) {
  PassphraseSource source =
      choose_passphrase_source(request.from_authinfo.has_value(), isatty(STDIN_FILENO) == 1);
  std::string passphrase;
  switch (source) {
    case PassphraseSource::kAuthinfo:
      passphrase = *request.from_authinfo;
      break;
    case PassphraseSource::kStdinLine: {
      auto line = read_passphrase_line(stdin);
      if (!line.is_ok()) return line.status();
      passphrase = std::move(line.value());
      break;
    }
    case PassphraseSource::kTerminal: {
      auto first = prompt_without_echo(request.prompt);
      if (!first.is_ok()) return first.status();
      passphrase = std::move(first.value());
      if (request.confirm && (!passphrase.empty() || request.allow_empty)) {
        auto second = prompt_without_echo("Confirm passphrase: ");
        if (!second.is_ok()) return second.status();
        bool same = second.value() == passphrase;
        wipe(second.value());
        if (!same) {
          wipe(passphrase);
          return Status::invalid_argument("the passphrases do not match");
        }
      }
      break;
    }
  }
  if (passphrase.empty() && !request.allow_empty) {
    return Status::invalid_argument("the passphrase must not be empty");
  }
  return passphrase;
}

}  // namespace hoardfs::tools
