// The group's credential, and what an instance makes of the records of ledger.instances
// (consumers/cluster/group_credential.h, instance_directory.h): only its own group's,
// signed with its secret, fresh, naming its key's instance and an address of its
// scheme, count.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ledger/cluster/group_credential.h"
#include "ledger/cluster/instance_directory.h"

namespace ledger {
namespace {

const GroupCredential kSecret = GroupCredential::FromSecret("0123456789abcdef0123456789abcdef");
const GroupCredential kOtherSecret = GroupCredential::FromSecret("fedcba9876543210fedcba9876543210");

TEST(GroupCredential, SignsAndVerifiesOnlyWithTheSameSecret) {
  const std::string sig = kSecret.Sign("hello");
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(kSecret.Verifies("hello", sig));
  EXPECT_FALSE(kSecret.Verifies("hellO", sig));
  EXPECT_FALSE(kOtherSecret.Verifies("hello", sig));
  EXPECT_FALSE(kSecret.Verifies("hello", sig.substr(1)));
  EXPECT_TRUE(FreshAt(1'000'000, 1'000'000 + 59'000));
  EXPECT_FALSE(FreshAt(1'000'000, 1'000'000 + 61'000));
  EXPECT_FALSE(FreshAt(1'000'000 + 61'000, 1'000'000));  // from the future, beyond skew
}

TEST(GroupCredential, TheSecretFileMustBeLongAndPrivate) {
  const auto path = std::filesystem::temp_directory_path() / ("ledger-secret-" + std::to_string(::getpid()));
  auto write = [&](const std::string& text, mode_t mode) {
    std::filesystem::remove(path);
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
  };
  write(std::string(64, 'a') + "\n", 0600);
  auto ok = GroupCredential::Load(path.string());
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_TRUE(ok->Verifies("x", GroupCredential::FromSecret(std::string(64, 'a')).Sign("x")));  // no newline in it
  write(std::string(64, 'a'), 0644);
  auto shared = GroupCredential::Load(path.string());
  ASSERT_FALSE(shared.ok());
  EXPECT_NE(shared.status().message().find("chmod 600"), std::string::npos) << shared.status().message();
  write("short", 0600);
  auto short_one = GroupCredential::Load(path.string());
  ASSERT_FALSE(short_one.ok());
  EXPECT_NE(short_one.status().message().find("fewer than 32"), std::string::npos) << short_one.status().message();
  std::filesystem::remove(path);
  auto missing = GroupCredential::Load(path.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(path.string()), std::string::npos);
}

InstanceAnnouncement Announcement(const std::string& group, const std::string& instance, const std::string& url,
                                  int64_t sent_at) {
  InstanceAnnouncement a;
  a.group = group;
  a.instance = instance;
  a.url = url;
  a.owned = {0, 1};
  a.partition_count = 4;
  a.sent_at = sent_at;
  return a;
}

// The reason a record is ignored ("" if it counts).
std::string Reason(const AnnouncementRecord& r, const std::string& scheme = "http", int64_t now = 1'000'000) {
  std::string ignored;
  auto read = CheckAnnouncementRecord(r, "g1", scheme, kSecret, now, &ignored);
  return read.ok() ? "" : ignored;
}

TEST(InstanceRecords, OnlyTheGroupsOwnSignedFreshAnnouncementsCount) {
  const int64_t now = 1'000'000;
  const AnnouncementRecord good = SignAnnouncement(Announcement("g1", "a", "http://127.0.0.1:8080", now - 500), kSecret);
  EXPECT_EQ(good.key, "g1/a");
  std::string ignored;
  auto read = CheckAnnouncementRecord(good, "g1", "http", kSecret, now, &ignored);
  ASSERT_TRUE(read.ok()) << read.status().message();
  ASSERT_TRUE(read->announcement.has_value());
  EXPECT_EQ(read->instance, "a");
  EXPECT_EQ(read->announcement->owned, (std::vector<int>{0, 1}));

  // Another group's, even signed with the same secret.
  EXPECT_EQ(Reason(SignAnnouncement(Announcement("g2", "a", "http://127.0.0.1:8080", now), kSecret)), "other_group");
  // Written by someone without the secret (kcat), or with another.
  AnnouncementRecord forged = good;
  forged.signature.clear();
  EXPECT_EQ(Reason(forged), "unsigned");
  EXPECT_EQ(Reason(SignAnnouncement(Announcement("g1", "a", "http://evil:80", now), kOtherSecret)), "bad_signature");
  AnnouncementRecord altered = good;
  altered.value.replace(altered.value.find("127.0.0.1"), 9, "6.6.6.666");
  EXPECT_EQ(Reason(altered), "bad_signature");
  // Old (replayed, or a dead instance's) and naming another instance than its key.
  EXPECT_EQ(Reason(SignAnnouncement(Announcement("g1", "a", "http://127.0.0.1:8080", now - 120'000), kSecret)),
            "stale");
  AnnouncementRecord renamed = good;
  renamed.key = "g1/b";
  renamed.signature = kSecret.Sign(renamed.key + "\n" + renamed.value);
  EXPECT_EQ(Reason(renamed), "malformed");
  // Addresses: the group's scheme only, and a real address.
  const AnnouncementRecord plain = SignAnnouncement(Announcement("g1", "a", "http://127.0.0.1:8080", now), kSecret);
  EXPECT_EQ(Reason(plain, "https"), "bad_url");  // http:// in an HTTPS group: tokens would travel in clear
  for (const char* url : {"ftp://127.0.0.1:21", "http://host/path", "http://host:99999", "http://:80",
                          "http://a b:80", "javascript:alert(1)"}) {
    EXPECT_EQ(Reason(SignAnnouncement(Announcement("g1", "a", url, now), kSecret)), "bad_url") << url;
  }
  EXPECT_EQ(Reason(SignAnnouncement(Announcement("g1", "a", "https://node-2.example:8443", now), kSecret), "https"),
            "");
}

TEST(InstanceRecords, ATombstoneCountsOnlyWhenSignedAndFresh) {
  const int64_t now = 1'000'000;
  std::string ignored;
  auto gone = CheckAnnouncementRecord(SignTombstone("g1", "a", now - 10, kSecret), "g1", "http", kSecret, now, &ignored);
  ASSERT_TRUE(gone.ok()) << gone.status().message();
  EXPECT_FALSE(gone->announcement.has_value());
  EXPECT_EQ(gone->instance, "a");
  EXPECT_EQ(gone->sent_at, now - 10);
  AnnouncementRecord bare;  // kcat -K: a null value for a live instance's key
  bare.key = "g1/a";
  EXPECT_EQ(Reason(bare), "unsigned");
  AnnouncementRecord moved = SignTombstone("g1", "a", now - 10, kSecret);
  moved.sent_at = now - 5;  // its signature covers the time
  EXPECT_EQ(Reason(moved), "bad_signature");
  EXPECT_EQ(Reason(SignTombstone("g1", "a", now - 10, kOtherSecret)), "bad_signature");
  EXPECT_EQ(Reason(SignTombstone("g1", "a", now - 120'000, kSecret)), "stale");
}

TEST(InstanceRecords, GroupUrls) {
  EXPECT_TRUE(IsGroupUrl("http://127.0.0.1:8080", "http"));
  EXPECT_TRUE(IsGroupUrl("http://localhost", "http"));
  EXPECT_TRUE(IsGroupUrl("https://[::1]:8443", "https"));
  EXPECT_FALSE(IsGroupUrl("https://[::1]:8443", "http"));
  EXPECT_FALSE(IsGroupUrl("http://127.0.0.1:0", "http"));
  EXPECT_FALSE(IsGroupUrl("http://127.0.0.1:", "http"));
  EXPECT_FALSE(IsGroupUrl("http://user@host:80", "http"));
  EXPECT_FALSE(IsGroupUrl("http://host:80?x", "http"));
}

}  // namespace
}  // namespace ledger
