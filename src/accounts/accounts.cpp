#include "accounts/accounts.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <optional>
#include <span>
#include <vector>

namespace mladmin::accounts {

using domain::Error;
using domain::ErrorKind;
using domain::Role;
using domain::User;
using domain::UserStatus;

namespace {

bool is_active_admin(const User& u) {
  return u.role == Role::admin && u.status == UserStatus::active;
}

Error last_admin() {
  return Error(ErrorKind::conflict, "last_admin",
               "this would leave no active admin; make another user an admin first");
}

void check_name(const std::string& name) {
  if (auto problem = domain::name_problem(name)) {
    throw domain::field_error("name", *problem);
  }
}

/// Applies `change` to `user` in memory; returns a JSON description of what changed.
boost::json::object apply(User& user, const UserChange& change, const std::optional<std::string>& new_hash) {
  boost::json::object changed;
  if (change.name && *change.name != user.name) {
    changed["name"] = {{"from", user.name}, {"to", *change.name}};
    user.name = *change.name;
  }
  bool revoke = false;
  if (change.role && *change.role != user.role) {
    changed["role"] = {{"from", domain::to_string(user.role)}, {"to", domain::to_string(*change.role)}};
    user.role = *change.role;
    revoke = true;
  }
  if (change.status && *change.status != user.status) {
    changed["status"] = {{"from", domain::to_string(user.status)}, {"to", domain::to_string(*change.status)}};
    user.status = *change.status;
    revoke = true;
  }
  if (new_hash) {
    changed["password"] = "changed";
    user.password_hash = *new_hash;
    revoke = true;
  }
  if (revoke) {
    ++user.token_version;  // every token issued before this change stops working at once
  }
  return changed;
}

}  // namespace

std::string Accounts::hash(const std::string& password) {
  auto hashed = hasher_.hash(password);
  if (!hashed) {
    throw std::move(
        Error(ErrorKind::too_many_requests, "busy", "the server is busy hashing passwords; try again")
            .retry_after(1));
  }
  return std::move(*hashed);
}

void Accounts::audit(store::Writer& w, const Actor& actor, std::string action,
                     std::optional<std::string> target, std::string details_json) {
  store::AuditEntry e;
  e.id = ids_.next();
  e.at = clock_.now_ms();
  e.actor_id = actor.id;
  e.actor_label = actor.label;
  e.action = std::move(action);
  e.target_type = "user";
  e.target_id = std::move(target);
  e.details_json = std::move(details_json);
  w.insert_audit(e);
}

User Accounts::create(const NewUser& input, const Actor& actor) {
  if (auto problem = domain::email_problem(input.email)) {
    throw domain::field_error("email", *problem);
  }
  check_name(input.name);
  auth::check_new_password(input.password, input.email, input.name, policy_);
  const auto key = domain::normalize_email(input.email);
  if (store_.read_value([&](store::Reader& r) { return r.find_user_by_email(key).has_value(); })) {
    throw std::move(Error(ErrorKind::conflict, "email_taken", "a user with this email already exists")
                        .with("field", "email"));
  }
  User u;
  u.id = ids_.next();
  u.email = input.email;
  u.name = input.name;
  u.role = input.role;
  u.status = input.status;
  u.password_hash = hash(input.password);
  u.created_at = u.updated_at = clock_.now_ms();
  store_.write([&](store::Writer& w) {
    if (!w.insert_user(u)) {
      throw std::move(Error(ErrorKind::conflict, "email_taken", "a user with this email already exists")
                          .with("field", "email"));
    }
    boost::json::object details{{"email", u.email}, {"role", domain::to_string(u.role)}};
    audit(w, actor, "user.create", u.id, boost::json::serialize(details));
  });
  rights_.invalidate();
  return u;
}

User Accounts::update(std::string_view id, const UserChange& change, const Actor& actor) {
  if (change.name) {
    check_name(*change.name);
  }
  std::optional<std::string> new_hash;
  if (change.password) {
    const auto current = store_.read_value([&](store::Reader& r) { return r.find_user(id); });
    if (!current) {
      throw domain::not_found("user");
    }
    auth::check_new_password(*change.password, current->email, change.name.value_or(current->name), policy_);
    new_hash = hash(*change.password);
  }
  bool revoked = false;
  auto updated = store_.write_value([&](store::Writer& w) {
    auto user = w.find_user(id);
    if (!user) {
      throw domain::not_found("user");
    }
    const auto version_before = user->token_version;
    const bool was_active_admin = is_active_admin(*user);
    auto changed = apply(*user, change, new_hash);
    if (was_active_admin && !is_active_admin(*user) && w.count_active_admins() <= 1) {
      throw last_admin();
    }
    if (!changed.empty()) {
      user->updated_at = clock_.now_ms();
      w.update_user(*user);
      audit(w, actor, "user.update", user->id,
            boost::json::serialize(boost::json::object{{"changes", changed}}));
    }
    revoked = user->token_version != version_before;
    return *user;
  });
  rights_.invalidate();
  if (revoked) {
    rights_changed(updated.id);
  }
  return updated;
}

namespace {

constexpr std::size_t kTombstonePage = 1000;

/// A deleted user's journal entries and goals become tombstones, so that the next sync removes
/// their documents from the embedded store and the ML service (docs/ml-service-api.md). New
/// change_seq values land above `upto`, so the paging does not see them again.
template <class Record, class Page, class Save>
void tombstone_all(store::Writer& w, domain::SourceType type, const std::string& user_id,
                   domain::TimestampMs now, Page page_of, Save save) {
  const std::optional<std::string> owner(user_id);
  const std::int64_t upto = w.max_change_seq(type);
  std::int64_t after = 0;
  for (;;) {
    std::vector<Record> page = page_of(w, owner, after, upto);
    if (page.empty()) {
      return;
    }
    after = page.back().change_seq;
    std::vector<Record> live;
    for (auto& r : page) {
      if (!r.deleted_at) {
        r.deleted_at = now;
        r.updated_at = now;
        live.push_back(std::move(r));
      }
    }
    if (!live.empty()) {
      save(w, std::span<Record>(live));
    }
  }
}

void tombstone_records(store::Writer& w, const std::string& user_id, domain::TimestampMs now) {
  tombstone_all<domain::JournalEntry>(
      w, domain::SourceType::journal_entries, user_id, now,
      [](store::Writer& w, const auto& owner, std::int64_t after, std::int64_t upto) {
        return w.journal_changes(owner, after, upto, kTombstonePage);
      },
      [](store::Writer& w, std::span<domain::JournalEntry> records) { w.save_journal_entries(records); });
  tombstone_all<domain::Goal>(
      w, domain::SourceType::goals, user_id, now,
      [](store::Writer& w, const auto& owner, std::int64_t after, std::int64_t upto) {
        return w.goal_changes(owner, after, upto, kTombstonePage);
      },
      [](store::Writer& w, std::span<domain::Goal> records) { w.save_goals(records); });
}

}  // namespace

void Accounts::remove(std::string_view id, const Actor& actor) {
  store_.write([&](store::Writer& w) {
    auto user = w.find_user(id);
    if (!user) {
      throw domain::not_found("user");
    }
    if (is_active_admin(*user) && w.count_active_admins() <= 1) {
      throw last_admin();
    }
    w.delete_user(id);
    tombstone_records(w, user->id, clock_.now_ms());
    audit(w, actor, "user.delete", user->id,
          boost::json::serialize(boost::json::object{{"email", user->email}}));
  });
  rights_.invalidate();
  rights_changed(std::string(id));
}

std::vector<BulkOutcome> Accounts::bulk(const std::vector<std::string>& ids, BulkAction action,
                                        std::optional<Role> role, const Actor& actor) {
  std::vector<BulkOutcome> out;
  store_.write([&](store::Writer& w) {
    boost::json::array done;
    for (const auto& id : ids) {
      BulkOutcome outcome{id, std::nullopt};
      auto user = w.find_user(id);
      if (!user) {
        outcome.error = domain::not_found("user");
        out.push_back(std::move(outcome));
        continue;
      }
      const bool was_active_admin = is_active_admin(*user);
      if (action == BulkAction::remove) {
        if (was_active_admin && w.count_active_admins() <= 1) {
          outcome.error = last_admin();
        } else {
          w.delete_user(id);
          tombstone_records(w, user->id, clock_.now_ms());
          audit(w, actor, "user.delete", id,
                boost::json::serialize(boost::json::object{{"email", user->email}, {"bulk", true}}));
          done.emplace_back(id);
        }
        out.push_back(std::move(outcome));
        continue;
      }
      UserChange change;
      if (action == BulkAction::set_role) {
        change.role = role;
      } else {
        change.status = action == BulkAction::disable ? UserStatus::disabled : UserStatus::active;
      }
      auto changed = apply(*user, change, std::nullopt);
      if (was_active_admin && !is_active_admin(*user) && w.count_active_admins() <= 1) {
        outcome.error = last_admin();
      } else if (!changed.empty()) {
        user->updated_at = clock_.now_ms();
        w.update_user(*user);
        audit(w, actor, "user.update", id,
              boost::json::serialize(boost::json::object{{"changes", changed}, {"bulk", true}}));
        done.emplace_back(id);
      }
      out.push_back(std::move(outcome));
    }
    static constexpr const char* kNames[] = {"set_role", "disable", "enable", "delete"};
    boost::json::object summary{{"action", kNames[static_cast<int>(action)]},
                                {"requested", ids.size()},
                                {"succeeded", done.size()},
                                {"ids", done}};
    if (role) {
      summary["role"] = domain::to_string(*role);
    }
    audit(w, actor, "user.bulk", std::nullopt, boost::json::serialize(summary));
  });
  rights_.invalidate();
  // Every id that succeeded had its tokens revoked or was deleted.
  for (const auto& o : out) {
    if (!o.error) {
      rights_changed(o.id);
    }
  }
  return out;
}

}  // namespace mladmin::accounts
