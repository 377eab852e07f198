#include "domain/job_access.hpp"

namespace mladmin::domain {

bool reads_all_jobs(Role role) {
  return at_least(role, Role::ml_admin);
}

bool may_access_job(bool reads_all, std::string_view caller_id,
                    const std::optional<std::string>& scope_user_id) {
  return reads_all || (scope_user_id && !caller_id.empty() && *scope_user_id == caller_id);
}

bool may_access_job(Role role, std::string_view caller_id, const Job& job) {
  return reads_all_jobs(role) ||
         (job.scope == JobScope::user && may_access_job(false, caller_id, job.scope_user_id));
}

}  // namespace mladmin::domain
