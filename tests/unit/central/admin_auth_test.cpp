// Admin passwords (PBKDF2-HMAC-SHA256), user names, CSRF tokens and the login rate limiter.
#include "exportsync/central/admin_auth.hpp"

#include <gtest/gtest.h>

#include <string>

namespace exportsync::central {
namespace {

TEST(PasswordTest, HashThenVerify) {
  const std::string stored = hashPassword("correct horse battery", kMinPbkdf2Iterations);
  // pbkdf2-sha256$ITER$SALT(16 bytes: 32 hex)$HASH(32 bytes: 64 hex)
  EXPECT_EQ(stored.rfind("pbkdf2-sha256$200000$", 0), 0u) << stored;
  EXPECT_EQ(stored.size(), std::string("pbkdf2-sha256$200000$").size() + 32 + 1 + 64);
  EXPECT_TRUE(verifyPassword("correct horse battery", stored));
  EXPECT_FALSE(verifyPassword("correct horse batterY", stored));
  EXPECT_FALSE(verifyPassword("", stored));
}

TEST(PasswordTest, SaltIsRandom) {
  EXPECT_NE(hashPassword("same password!", kMinPbkdf2Iterations),
            hashPassword("same password!", kMinPbkdf2Iterations));
}

TEST(PasswordTest, KnownVector) {
  // RFC 7914 §11 (PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1, 64 bytes) starts with
  // 55ac046e56e3089f; our 32-byte output is its first half.
  const std::string stored =
      "pbkdf2-sha256$1$73616c74$55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc";
  EXPECT_TRUE(verifyPassword("passwd", stored));
  EXPECT_FALSE(verifyPassword("passwe", stored));
}

TEST(PasswordTest, MalformedStoredValuesNeverMatch) {
  for (const std::string bad :
       {"", "pbkdf2-sha256", "pbkdf2-sha256$x$00$00", "md5$1$00$00",
        "pbkdf2-sha256$1$zz$55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc",
        "pbkdf2-sha256$1$73616c74$55ac", "pbkdf2-sha256$0$73616c74$00"}) {
    EXPECT_FALSE(verifyPassword("passwd", bad)) << bad;
  }
}

TEST(PasswordTest, ConstantTimeEquals) {
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(constantTimeEquals("", ""));
}

TEST(PasswordTest, NewPasswordRules) {
  EXPECT_FALSE(checkNewPassword("short").isOk());
  EXPECT_NE(checkNewPassword("short").message().find("at least 12"), std::string::npos);
  EXPECT_TRUE(checkNewPassword("twelve chars").isOk());
  EXPECT_FALSE(checkNewPassword(std::string(1025, 'x')).isOk());
}

TEST(UserNameTest, NormalisedOrRefused) {
  EXPECT_EQ(*normaliseUserName("Amina.B-2_x"), "amina.b-2_x");
  EXPECT_FALSE(normaliseUserName("").isOk());
  EXPECT_FALSE(normaliseUserName("a b").isOk());
  EXPECT_FALSE(normaliseUserName("amina'--").isOk());
  EXPECT_FALSE(normaliseUserName(std::string(65, 'a')).isOk());
}

TEST(SessionTest, IdsAndCsrfTokens) {
  const std::string a = newSessionId();
  const std::string b = newSessionId();
  EXPECT_EQ(a.size(), 64u);  // 256 bits
  EXPECT_NE(a, b);
  EXPECT_EQ(csrfTokenFor(a), csrfTokenFor(a));
  EXPECT_NE(csrfTokenFor(a), csrfTokenFor(b));
  EXPECT_NE(csrfTokenFor(a), a);
}

TEST(LoginLimiterTest, PerUserThenWindowExpires) {
  LoginLimiter limiter(3, 100, 60);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.check("amina", "10.0.0.1", 1000 + i).retry_after_s, 0);
    limiter.failed("amina", "10.0.0.1", 1000 + i);
  }
  const auto v = limiter.check("amina", "10.0.0.2", 1010);
  EXPECT_EQ(v.retry_after_s, 50);  // the first failure (1000) leaves the window at 1060
  EXPECT_NE(v.message.find("amina"), std::string::npos);
  EXPECT_EQ(limiter.check("karim", "10.0.0.1", 1010).retry_after_s, 0);
  EXPECT_EQ(limiter.check("amina", "10.0.0.1", 1061).retry_after_s, 0);
}

TEST(LoginLimiterTest, PerAddress) {
  LoginLimiter limiter(100, 2, 60);
  limiter.failed("u1", "10.0.0.9", 1000);
  limiter.failed("u2", "10.0.0.9", 1001);
  const auto v = limiter.check("u3", "10.0.0.9", 1002);
  EXPECT_EQ(v.retry_after_s, 58);
  EXPECT_NE(v.message.find("10.0.0.9"), std::string::npos);
  EXPECT_EQ(limiter.check("u3", "10.0.0.8", 1002).retry_after_s, 0);
}

TEST(LoginLimiterTest, SuccessClearsTheUser) {
  LoginLimiter limiter(2, 100, 60);
  limiter.failed("amina", "10.0.0.1", 1000);
  limiter.succeeded("amina");
  limiter.failed("amina", "10.0.0.1", 1001);
  EXPECT_EQ(limiter.check("amina", "10.0.0.1", 1002).retry_after_s, 0);
}

}  // namespace
}  // namespace exportsync::central
