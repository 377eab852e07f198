#include "app/seed_demo.hpp"

#include <random>

#include "app/app.hpp"

namespace mladmin::app {

namespace {

constexpr const char* kWords[] = {
    "morning", "walk",    "coffee", "meeting", "tired",    "grateful", "family", "project", "rain",
    "sunny",   "gym",     "read",   "dinner",  "friend",   "sleep",    "write",  "plan",    "music",
    "calm",    "busy",    "garden", "train",   "deadline", "laughed",  "cooked", "quiet",   "city",
    "ocean",   "book",    "focus",  "late",    "early",    "anxious",  "proud",  "learned", "painted",
    "called",  "brother", "sister", "mother",  "weekend",  "office",   "code",   "bike",    "yoga",
    "tea",     "market",  "forest", "snow",    "evening",  "journal",  "habit",  "run",     "swim"};
constexpr const char* kTags[] = {"work", "health", "family", "gratitude", "sleep", "travel", "ideas", "mood"};
constexpr const char* kGoals[] = {"Run a 10k",      "Read 20 books",    "Learn Spanish",
                                  "Meditate daily", "Ship the project", "Cook twice a week",
                                  "Sleep by 11 pm", "Save for a trip"};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p; }

  std::string sentence() {
    std::string s;
    const int words = between(5, 18);
    for (int i = 0; i < words; ++i) {
      std::string w = kWords[between(0, std::size(kWords) - 1)];
      if (i == 0) {
        w[0] = static_cast<char>(w[0] - 'a' + 'A');
      }
      if (i > 0) {
        s += ' ';
      }
      s += w;
    }
    return s + ".";
  }

  std::string paragraph(int min_sentences, int max_sentences) {
    std::string p;
    const int n = between(min_sentences, max_sentences);
    for (int i = 0; i < n; ++i) {
      if (i > 0) {
        p += ' ';
      }
      p += sentence();
    }
    return p;
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

SeedResult seed_demo(store::Store& store, accounts::Accounts& accounts, const domain::Clock& clock,
                     domain::IdGenerator& ids, const SeedOptions& options) {
  Generator gen(options.seed);
  SeedResult result;
  result.password = "demo-" + std::to_string(options.seed) + "-Harbor-Lantern";
  std::vector<std::string> user_ids;
  for (int u = 1; u <= options.users; ++u) {
    const std::string email = "writer" + std::to_string(u) + "@demo.example";
    auto existing = store.read_value([&](store::Reader& r) { return r.find_user_by_email(email); });
    if (!existing) {
      existing = accounts.create({email, "Writer " + std::to_string(u), result.password, domain::Role::user,
                                  domain::UserStatus::active},
                                 {std::nullopt, "cli"});
    }
    user_ids.push_back(existing->id);
    result.emails.push_back(email);
  }
  const auto now = clock.now_ms();
  constexpr std::int64_t kDay = 86400000;
  store.write([&](store::Writer& w) {
    for (const auto& user_id : user_ids) {
      for (int i = 0; i < options.entries_per_user; ++i) {
        domain::JournalEntry e;
        e.id = ids.next();
        e.user_id = user_id;
        e.title = gen.sentence();
        e.title.pop_back();
        e.body = gen.paragraph(1, 12);
        if (gen.chance(0.8)) {
          e.mood = gen.between(1, 5);
        }
        for (int t = gen.between(0, 3); t > 0; --t) {
          e.tags.emplace_back(kTags[gen.between(0, std::size(kTags) - 1)]);
        }
        e.created_at = e.updated_at = now - gen.between(0, 365) * kDay - gen.between(0, 86399) * 1000LL;
        if (gen.chance(options.invalid_ratio)) {
          ++result.invalid;
          switch (gen.between(0, 4)) {
            case 0:
              e.body = "   ";
              break;
            case 1:
              e.title = "\t";
              break;
            case 2:
              e.mood = gen.chance(0.5) ? 0 : 9;
              break;
            case 3:
              e.body = std::string(domain::kMaxTextBytes + 1, 'a');
              break;
            default:
              e.body += " \xC3\x28";  // invalid UTF-8
              break;
          }
        }
        w.save_journal_entry(e);
        ++result.entries;
      }
      for (int i = 0; i < options.goals_per_user; ++i) {
        domain::Goal g;
        g.id = ids.next();
        g.user_id = user_id;
        g.title = kGoals[gen.between(0, std::size(kGoals) - 1)];
        g.description = gen.paragraph(0, 3);
        g.status = gen.chance(0.3) ? "done" : "open";
        if (gen.chance(0.7)) {
          g.target_date = domain::format_iso8601(now + gen.between(1, 365) * kDay).substr(0, 10);
        }
        g.created_at = g.updated_at = now - gen.between(0, 365) * kDay;
        if (gen.chance(options.invalid_ratio)) {
          ++result.invalid;
          if (gen.chance(0.5)) {
            g.status = "someday";
          } else {
            g.title = "  ";
          }
        }
        w.save_goal(g);
        ++result.goals;
      }
    }
  });
  return result;
}

}  // namespace mladmin::app
