#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "domain/job.hpp"
#include "domain/role.hpp"

namespace mladmin::domain {

/// The one rule for who may read and control a sync or bulk job (docs/security.md, "Who reads
/// which job"): ml_admin and admin every job; anyone else only the jobs of scope `user` over their
/// own records, whoever started them. Starting a job grants nothing: a user who started a job of
/// scope `all` while ml_admin loses it with the role. The job list's SQL (JobQuery::visible_to),
/// the job view's lists (api/job_view.cpp) and the event hub's filter apply the same rule.
bool reads_all_jobs(Role role);

/// `scope_user_id` is set exactly for jobs of scope `user` (whose records the job syncs).
bool may_access_job(bool reads_all, std::string_view caller_id,
                    const std::optional<std::string>& scope_user_id);

bool may_access_job(Role role, std::string_view caller_id, const Job& job);

}  // namespace mladmin::domain
