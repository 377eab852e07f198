#pragma once

#include <functional>
#include <memory>
#include <string>

#include "app/config.hpp"
#include "store/store.hpp"

namespace mladmin::app {

/// Sets up the process-wide logger: logfmt-style lines on stderr, UTC timestamps.
void init_logging(const std::string& level);

/// Opens the configured store and applies pending migrations.
std::unique_ptr<store::Store> open_and_migrate(const Config& config);

/// The composition root of `mladmin serve`: config → store → auth → accounts → router → server.
/// Blocks until SIGINT/SIGTERM; returns the process exit code. `on_listening` runs once the
/// port is bound (demo prints its login there).
int serve(const Config& config, const std::function<void(const std::string& url)>& on_listening = {});

/// A password that passes the password rules: 20 random characters.
std::string random_password();

}  // namespace mladmin::app
