// `mladmin sync` and `mladmin jobs` (README.md "Syncs from the command line"): commands that talk to a
// running server over its HTTP(S) API and follow its event stream. Progress is drawn in place on a terminal
// and written as plain lines to pipes and files.
#include "app/remote_commands.hpp"

#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/url.hpp>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>

#include "client/display.hpp"
#include "client/event_stream.hpp"
#include "client/http_client.hpp"
#include "client/job_tracker.hpp"
#include "client/job_view.hpp"
#include "client/progress.hpp"
#include "client/text.hpp"

namespace mladmin::app {

namespace {

using client::cat;
using Clock = std::chrono::steady_clock;

constexpr auto kPollEvery = std::chrono::milliseconds(100);

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_interrupt(int) {
  g_interrupted = 1;
}

/// Ctrl-C (and SIGTERM) end a follow cleanly instead of killing the process mid-line.
void catch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() {
  return g_interrupted != 0;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

/// A server, and the token that opens it.
struct Session {
  Session(client::ServerUrl url, client::ClientOptions options) : http(std::move(url), std::move(options)) {}

  client::HttpClient http;
  std::string token;

  client::Headers auth() const { return {{"Authorization", cat("Bearer ", token)}}; }
  client::Headers json_auth() const {
    return {{"Authorization", cat("Bearer ", token)}, {"Content-Type", "application/json"}};
  }
};

class UsageError final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

boost::json::value parse_json(const client::Response& res) {
  boost::system::error_code ec;
  auto v = boost::json::parse(res.body, ec);
  if (ec) {
    throw client::ClientError(cat("the server's answer (", std::to_string(res.status), ") is not JSON"));
  }
  return v;
}

std::unique_ptr<Session> open_session(const RemoteOptions& o) {
  std::string url = o.url.empty() ? env("MLADMIN_URL") : o.url;
  if (url.empty()) {
    url = "http://127.0.0.1:8080";
  }
  client::ClientOptions options;
  options.interrupted = interrupted;
  options.ca_file = o.ca_file.empty() ? env("MLADMIN_CA_FILE") : o.ca_file;
  if (!options.ca_file.empty()) {
    // Said now, in words, rather than as a TLS library's error at the first request.
    std::ifstream probe(options.ca_file);
    if (!probe) {
      throw UsageError(cat("cannot read the CA file ", options.ca_file, ": ", std::strerror(errno)));
    }
  }
  auto session = std::make_unique<Session>(client::parse_server_url(url), options);
  if (!o.email.empty()) {
    if (!o.password_stdin) {
      throw UsageError("--email needs --password-stdin: the password is read from the first line of stdin");
    }
    std::string password;
    std::getline(std::cin, password);
    if (!password.empty() && password.back() == '\r') {
      password.pop_back();
    }
    const auto body = boost::json::serialize(boost::json::object{{"email", o.email}, {"password", password}});
    auto res = session->http.request("POST", "/api/auth/login", {{"Content-Type", "application/json"}}, body);
    if (res.status != 200) {
      throw client::remote_error(res);
    }
    const auto json = parse_json(res);
    const auto* token = json.is_object() ? json.as_object().if_contains("token") : nullptr;
    if (token == nullptr || !token->is_string()) {
      throw client::ClientError("the server's sign-in answer has no token");
    }
    session->token = std::string(token->as_string());
    return session;
  }
  session->token = o.token.empty() ? env("MLADMIN_TOKEN") : o.token;
  if (session->token.empty()) {
    throw UsageError(
        "no token: pass --token TOKEN, set MLADMIN_TOKEN, or sign in with --email EMAIL --password-stdin");
  }
  return session;
}

bool stdout_is_terminal(const RemoteOptions& o) {
  if (o.plain || isatty(STDOUT_FILENO) == 0) {
    return false;
  }
  return env("TERM") != "dumb";
}

/// The terminal's size now (it may be resized while following), else COLUMNS/LINES, else 80x24.
std::size_t terminal_size(bool columns) {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && (columns ? ws.ws_col : ws.ws_row) > 0) {
    return columns ? ws.ws_col : ws.ws_row;
  }
  const auto text = env(columns ? "COLUMNS" : "LINES");
  const long n = text.empty() ? 0 : std::strtol(text.c_str(), nullptr, 10);
  return n > 1 ? static_cast<std::size_t>(n) : (columns ? 80 : 24);
}

/// The locale says whether the terminal takes UTF-8; without one, assume it does.
bool utf8_terminal() {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    auto v = env(name);
    if (v.empty()) {
      continue;
    }
    for (auto& c : v) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return v.find("utf-8") != std::string::npos || v.find("utf8") != std::string::npos;
  }
  return true;
}

std::unique_ptr<client::Display> make_display(const RemoteOptions& remote, bool terminal, bool show_id) {
  client::DisplayOptions options;
  options.show_id = show_id;
  options.plain_every = std::chrono::milliseconds(std::llround(remote.interval_seconds * 1000));
  if (terminal) {
    options.width = [] { return terminal_size(true); };
    options.height = [] { return terminal_size(false); };
    options.ascii = !utf8_terminal();
    return client::make_terminal_display(std::cout, std::move(options));
  }
  return client::make_plain_display(std::cout, std::cerr, std::move(options));
}

/// Closes a display however the command ends, so that a shell prompt never lands mid-line.
struct DisplayCloser {
  std::unique_ptr<client::Display>& display;
  ~DisplayCloser() {
    if (display) {
      display->close();
    }
  }
};

/// Polls the event stream and hands each event to `handle` until it answers true (returns true)
/// or Ctrl-C (returns false); the display gets its ticks in between.
bool follow_events(client::EventStream& stream, client::Display& display,
                   const std::function<bool(const client::SseEvent&)>& handle) {
  try {
    while (!interrupted()) {
      for (const auto& event : stream.poll(kPollEvery)) {
        if (handle(event)) {
          return true;
        }
      }
      display.tick(Clock::now());
    }
  } catch (const client::Interrupted&) {
  }
  return false;
}

/// A job of the server's answer, or a ClientError saying what about it this CLI cannot read (a
/// server of another version).
client::JobView read_job(const boost::json::value& json, std::string_view what) {
  std::string problem;
  auto job = client::parse_job(json, &problem);
  if (!job) {
    throw client::ClientError(cat(what, " is not a job as docs/openapi.yaml describes it: ", problem));
  }
  return std::move(*job);
}

client::JobView fetch_job(Session& s, const std::string& id) {
  auto res = s.http.request("GET", cat("/api/ml/sync/job/", id), s.auth());
  if (res.status != 200) {
    throw client::remote_error(res);
  }
  return read_job(parse_json(res), "the server's answer");
}

std::string scope_text(const client::JobView& job) {
  if (job.scope == "all") {
    return "every user";
  }
  return job.scope_user_id ? cat("user ", *job.scope_user_id) : std::string("one user");
}

/// Runs a command body and turns what it throws into a message on stderr and an exit code.
template <class Fn>
int guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const client::RemoteError& e) {
    std::cerr << "mladmin: " << e.what() << " (HTTP " << e.status() << ")\n";
    if (e.status() == 401) {
      std::cerr << "mladmin: the server refused the token; sign in again (POST /api/auth/login, or --email "
                   "EMAIL --password-stdin) and pass the new token with --token or MLADMIN_TOKEN\n";
    }
    return kExitError;
  } catch (const UsageError& e) {
    std::cerr << "mladmin: " << e.what() << "\n";
    return kExitError;
  } catch (const client::ClientError& e) {
    std::cerr << "mladmin: " << e.what() << "\n";
    return kExitError;
  } catch (const client::Interrupted&) {
    return kExitInterrupted;
  } catch (const std::exception& e) {
    // An answer of an unexpected shape, memory: still a message, never an abort.
    std::cerr << "mladmin: " << e.what() << "\n";
    return kExitError;
  }
}

/// Says on stderr, once, that the live stream brought an event the CLI could not read (a server
/// newer than the client, or a proxy that altered the stream), instead of dropping it in silence;
/// at the end, how many there were.
class UnreadableEvents final {
 public:
  explicit UnreadableEvents(const client::JobTracker& tracker) : tracker_(tracker) {}
  void check() {
    if (tracker_.unreadable() > 0 && !told_) {
      told_ = true;
      std::cerr << "mladmin: ignored an event the client cannot read: " << tracker_.last_problem() << "\n";
    }
  }
  ~UnreadableEvents() {
    if (tracker_.unreadable() > 1) {
      std::cerr << "mladmin: " << tracker_.unreadable() << " events could not be read and were ignored\n";
    }
  }
  UnreadableEvents(const UnreadableEvents&) = delete;
  UnreadableEvents& operator=(const UnreadableEvents&) = delete;

 private:
  const client::JobTracker& tracker_;
  bool told_ = false;
};

int sync_command(const RemoteOptions& remote, const SyncCommandOptions& o) {
  const bool goals = o.type == "goals";
  boost::json::object body;
  if (o.all) {
    body["scope"] = "all";
  } else if (!o.user_id.empty()) {
    body["userId"] = o.user_id;
  }
  if (!o.mode.empty()) {
    body["mode"] = o.mode;
  }
  if (o.follow) {
    catch_interrupts();
  }
  auto session = open_session(remote);
  const bool terminal = stdout_is_terminal(remote);
  std::unique_ptr<client::Display> display;
  DisplayCloser closer{display};
  std::vector<std::string> early_notes;  // said before the display exists
  auto notice = [&](const std::string& text) {
    if (display) {
      display->note(text);
    } else {
      early_notes.push_back(text);
    }
  };
  std::unique_ptr<client::EventStream> stream;
  if (o.follow) {
    // Subscribe before the job exists, so that none of its events can be missed.
    client::EventStreamOptions options;
    options.token = session->token;
    stream = std::make_unique<client::EventStream>(session->http, options, notice);
    stream->open();
  }

  const auto res =
      session->http.request("POST", goals ? "/api/ml/sync/goals" : "/api/ml/sync/journal-entries",
                            session->json_auth(), boost::json::serialize(body));
  std::optional<client::JobView> job;
  if (res.status == 202) {
    job = read_job(parse_json(res), "the server's answer to the start");
    if (!o.follow) {
      std::cout << job->id << "\n";
      return kExitOk;
    }
  } else if (auto error = client::remote_error(res);
             res.status == 409 && error.code() == "sync_already_active") {
    const auto json = parse_json(res);
    std::string active;
    if (const auto* details = json.at("error").as_object().if_contains("details");
        details != nullptr && details->is_object()) {
      if (const auto* id = details->as_object().if_contains("activeJobId");
          id != nullptr && id->is_string()) {
        active = std::string(id->as_string());
      }
    }
    if (active.empty()) {
      throw error;
    }
    if (!o.follow) {
      std::cerr << "mladmin: " << error.what() << "\nmladmin: the active job is " << active
                << "; follow it with --follow\n";
      return kExitAlreadyActive;
    }
    notice(cat("a sync of this scope and type is already active; following job ", active));
    job = fetch_job(*session, active);
  } else {
    throw error;
  }

  const std::string id = job->id;
  if (terminal) {
    std::cout << "job " << id << ": " << (job->type.empty() ? "sync" : job->type) << ", " << job->mode << ", "
              << scope_text(*job) << " (Ctrl-C stops following, not the job)\n";
  }
  for (const auto& text : early_notes) {
    std::cerr << "mladmin: " << text << "\n";
  }
  display = make_display(remote, terminal, false);
  client::JobTracker tracker;
  UnreadableEvents unreadable(tracker);
  std::optional<client::JobView> last = tracker.apply(*job);
  display->update(*job, Clock::now());
  auto show = [&](const client::JobView& state) {
    if (state.id != id) {
      return false;
    }
    display->update(state, Clock::now());
    last = state;
    return client::is_finished(state);
  };
  bool done = client::is_finished(*job);
  if (!done) {
    done = follow_events(*stream, *display, [&](const client::SseEvent& event) {
      const auto states = tracker.apply(event);
      unreadable.check();
      for (const auto& state : states) {
        if (show(state)) {
          return true;
        }
      }
      // A snapshot after a reconnect lists only the newest finished jobs: ask for ours if it is
      // not there.
      if (event.type == "snapshot" && !tracker.snapshot_has(id)) {
        if (auto news = tracker.apply(fetch_job(*session, id)); news && show(*news)) {
          return true;
        }
      }
      return false;
    });
  }
  display->close();
  if (!done) {
    std::cerr << "mladmin: stopped following; job " << id << " goes on (cancel it with POST /api/ml/sync/job/"
              << id << "/cancel)\n";
    return kExitInterrupted;
  }
  return last && last->status == "completed" ? kExitOk : kExitJobFailed;
}

int jobs_command(const RemoteOptions& remote, const JobsCommandOptions& o) {
  std::string type = o.type;
  std::replace(type.begin(), type.end(), '-', '_');
  if (o.follow) {
    catch_interrupts();
  }
  auto session = open_session(remote);
  const bool terminal = stdout_is_terminal(remote);
  std::unique_ptr<client::Display> display;
  DisplayCloser closer{display};
  std::unique_ptr<client::EventStream> stream;
  if (o.follow) {
    // Subscribed before the list is read: a job that starts in between shows up live.
    client::EventStreamOptions options;
    options.token = session->token;
    stream = std::make_unique<client::EventStream>(session->http, options, [&](const std::string& text) {
      if (display) {
        display->note(text);
      } else {
        std::cerr << "mladmin: " << text << "\n";
      }
    });
    stream->open();
  }

  boost::urls::url target("/api/ml/sync/jobs");
  if (!o.status.empty()) {
    target.params().append({"status", o.status});
  }
  if (!type.empty()) {
    target.params().append({"type", type});
  }
  target.params().append({"limit", std::to_string(o.limit)});
  const auto res = session->http.request("GET", target.buffer(), session->auth());
  if (res.status != 200) {
    throw client::remote_error(res);
  }
  const auto json = parse_json(res);
  std::vector<client::JobView> jobs;
  bool more = false;
  if (const auto* o_json = json.if_object()) {
    if (const auto* items = o_json->if_contains("items"); items != nullptr && items->is_array()) {
      for (const auto& item : items->as_array()) {
        jobs.push_back(read_job(item, "an item of the server's job list"));
      }
    }
    const auto* next = o_json->if_contains("nextCursor");
    more = next != nullptr && !next->is_null();
  }
  if (jobs.empty()) {
    std::cout << "no jobs\n";
  } else {
    std::cout << client::render_job_table(jobs);
  }
  if (more) {
    std::cerr << "mladmin: the newest " << jobs.size() << " jobs are shown; --limit (up to 500) shows more\n";
  }
  std::cout.flush();
  if (!o.follow) {
    return kExitOk;
  }

  if (terminal) {
    std::cout << "\nactive jobs, live (Ctrl-C to stop):\n";
  }
  display = make_display(remote, terminal, true);
  client::JobTracker tracker;
  UnreadableEvents unreadable(tracker);
  follow_events(*stream, *display, [&](const client::SseEvent& event) {
    const auto states = tracker.apply(event);
    unreadable.check();
    for (const auto& state : states) {
      if (type.empty() || state.type == type) {
        display->update(state, Clock::now());
      }
    }
    return false;
  });
  display->close();
  return kExitOk;
}

}  // namespace

int run_sync_command(const RemoteOptions& remote, const SyncCommandOptions& options) {
  return guarded([&] { return sync_command(remote, options); });
}

int run_jobs_command(const RemoteOptions& remote, const JobsCommandOptions& options) {
  return guarded([&] { return jobs_command(remote, options); });
}

}  // namespace mladmin::app
