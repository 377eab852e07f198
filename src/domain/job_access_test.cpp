#include "domain/job_access.hpp"

#include <gtest/gtest.h>

namespace mladmin::domain {
namespace {

Job job_of(std::string started_by, JobScope scope, std::optional<std::string> scope_user) {
  Job j;
  j.id = "j1";
  j.user_id = std::move(started_by);
  j.scope = scope;
  j.scope_user_id = std::move(scope_user);
  return j;
}

TEST(JobAccessTest, AUserReadsOnlyJobsOverTheirOwnRecords) {
  EXPECT_TRUE(may_access_job(Role::user, "ann", job_of("ann", JobScope::user, "ann")));
  // Started by an admin for Ann: hers to read.
  EXPECT_TRUE(may_access_job(Role::user, "ann", job_of("root", JobScope::user, "ann")));
  // Started by Ann for Bob (while she was ml_admin): not hers any more.
  EXPECT_FALSE(may_access_job(Role::user, "ann", job_of("ann", JobScope::user, "bob")));
  // Started by Ann over everyone's records, or a bulk job she started: not hers either.
  EXPECT_FALSE(may_access_job(Role::user, "ann", job_of("ann", JobScope::all, std::nullopt)));
}

TEST(JobAccessTest, MlAdminAndAdminReadEveryJob) {
  for (auto role : {Role::ml_admin, Role::admin}) {
    EXPECT_TRUE(may_access_job(role, "ann", job_of("bob", JobScope::user, "bob")));
    EXPECT_TRUE(may_access_job(role, "ann", job_of("bob", JobScope::all, std::nullopt)));
  }
}

TEST(JobAccessTest, AnEmptyCallerIdMatchesNothing) {
  EXPECT_FALSE(may_access_job(false, "", std::optional<std::string>("")));
}

}  // namespace
}  // namespace mladmin::domain
