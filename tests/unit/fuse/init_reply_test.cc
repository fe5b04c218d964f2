// Completing libfuse's INIT reply with the flags it leaves out.
#include "fuse/init_reply.h"

#include <gtest/gtest.h>
#include <linux/fuse.h>

#include <cstring>

namespace hoardfs::fuse_internal {
namespace {

std::vector<char> init_reply(uint32_t flags, int32_t error = 0) {
  fuse_out_header out{};
  out.unique = 7;
  out.error = error;
  fuse_init_out init{};
  init.major = 7;
  init.minor = 31;
  init.flags = flags;
  out.len = sizeof out + sizeof init;
  iovec iov[2] = {{&out, sizeof out}, {&init, sizeof init}};
  return flatten(iov, 2);
}

uint32_t flags_of(const std::vector<char>& message) {
  fuse_init_out init;
  std::memcpy(&init, message.data() + sizeof(fuse_out_header), sizeof init);
  return init.flags;
}

TEST(InitReply, AddsFlagsAndKeepsTheRest) {
  std::vector<char> message = init_reply(FUSE_ASYNC_READ | FUSE_DO_READDIRPLUS);
  ASSERT_EQ(message.size(), sizeof(fuse_out_header) + sizeof(fuse_init_out));
  add_init_flags(message, FUSE_HANDLE_KILLPRIV);
  EXPECT_EQ(flags_of(message), FUSE_ASYNC_READ | FUSE_DO_READDIRPLUS | FUSE_HANDLE_KILLPRIV);
  fuse_init_out init;
  std::memcpy(&init, message.data() + sizeof(fuse_out_header), sizeof init);
  EXPECT_EQ(init.minor, 31u);
}

TEST(InitReply, LeavesAnErrorOrAShortReplyAlone) {
  std::vector<char> error = init_reply(0, -EPROTO);
  const std::vector<char> before = error;
  add_init_flags(error, FUSE_HANDLE_KILLPRIV);
  EXPECT_EQ(error, before);
  std::vector<char> shortened(sizeof(fuse_out_header), 0);
  add_init_flags(shortened, FUSE_HANDLE_KILLPRIV);
  EXPECT_EQ(shortened, std::vector<char>(sizeof(fuse_out_header), 0));
}

TEST(InitReply, RecognizesTheInitRequest) {
  fuse_in_header in{};
  in.opcode = FUSE_INIT;
  in.unique = 42;
  EXPECT_EQ(init_unique_of(&in, sizeof in), 42u);
  in.opcode = FUSE_LOOKUP;
  EXPECT_EQ(init_unique_of(&in, sizeof in), 0u);
  EXPECT_EQ(init_unique_of(&in, 4), 0u);
  EXPECT_EQ(init_unique_of(&in, -1), 0u);
}

}  // namespace
}  // namespace hoardfs::fuse_internal
