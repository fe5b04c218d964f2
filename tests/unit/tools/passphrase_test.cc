#include "tools/passphrase.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

namespace hoardfs::tools {
namespace {

// A FILE* over a string, like stdin fed by a pipe.
std::FILE* stream_of(const char* text) {
  return fmemopen(const_cast<char*>(text), std::strlen(text), "r");
}

TEST(PassphraseSource, AuthinfoFirstThenTerminalThenStdin) {
  EXPECT_EQ(choose_passphrase_source(true, true), PassphraseSource::kAuthinfo);
  EXPECT_EQ(choose_passphrase_source(true, false), PassphraseSource::kAuthinfo);
  EXPECT_EQ(choose_passphrase_source(false, true), PassphraseSource::kTerminal);
  EXPECT_EQ(choose_passphrase_source(false, false), PassphraseSource::kStdinLine);
}

TEST(PassphraseLine, ReadsExactlyOneLine) {
  std::FILE* in = stream_of("secret words \nsecond line\n");
  auto first = read_passphrase_line(in);
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(*first, "secret words ");  // inner and trailing spaces are part of it
  auto second = read_passphrase_line(in);
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(*second, "second line");
  std::fclose(in);
}

TEST(PassphraseLine, HandlesCrLfAndMissingNewline) {
  std::FILE* in = stream_of("dos\r\n");
  EXPECT_EQ(*read_passphrase_line(in), "dos");
  std::fclose(in);
  in = stream_of("no newline");
  EXPECT_EQ(*read_passphrase_line(in), "no newline");
  std::fclose(in);
}

TEST(PassphraseLine, EndOfInputIsAnError) {
  std::FILE* in = stream_of("");
  auto line = read_passphrase_line(in);
  ASSERT_FALSE(line.is_ok());
  EXPECT_EQ(line.status().code(), Status::Code::kInvalidArgument);
  std::fclose(in);
  in = stream_of("\n");  // an empty line is a (empty) passphrase, not end of input
  auto empty = read_passphrase_line(in);
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(*empty, "");
  std::fclose(in);
}

TEST(ObtainPassphrase, AuthinfoValueIsUsedWithoutReadingStdin) {
  PassphraseRequest request;
  request.from_authinfo = "from file";
  request.confirm = true;
  auto passphrase = obtain_passphrase(request);
  ASSERT_TRUE(passphrase.is_ok());
  EXPECT_EQ(*passphrase, "from file");
}

TEST(ObtainPassphrase, EmptyIsRefusedUnlessAllowed) {
  PassphraseRequest request;
  request.from_authinfo = "";
  EXPECT_FALSE(obtain_passphrase(request).is_ok());
  request.allow_empty = true;
  EXPECT_TRUE(obtain_passphrase(request).is_ok());
}

}  // namespace
}  // namespace hoardfs::tools
