// The table of every configuration key (see config_schema.h). Data only:
// a key that is not here is refused at start-up, and a default written
// anywhere else is a bug. docs/configuration.md is generated from this table
// (`tandemd config --markdown`); a test fails when the two differ.
#include <span>

#include "common/config_schema.h"

namespace tandem {
namespace {

constexpr KeyType kStr = KeyType::kString;
constexpr KeyType kInt = KeyType::kInt;
constexpr KeyType kBool = KeyType::kBool;
constexpr KeyType kDbl = KeyType::kDouble;
constexpr KeyType kList = KeyType::kList;

// One key per entry, laid out by hand for reading.
// clang-format off
constexpr KeySpec kKeys[] = {
    // server
    {.name = "server.listen", .type = kStr, .default_value = "127.0.0.1:8080",
     .description = "address to listen on, host:port (port 0: any free port)"},
    {.name = "server.data_dir", .type = kStr, .default_value = "data",
     .description = "directory of the database files and code logs (created 0700)"},
    {.name = "server.threads", .type = kInt, .default_value = "0",
     .description = "threads serving connections (0: one per core)", .min = 0, .max = 1024},
    {.name = "server.max_body_bytes", .type = kInt, .default_value = "1048576",
     .description = "larger request bodies get 413", .min = 1, .max = 1 << 30},
    {.name = "server.worker_threads", .type = kInt, .default_value = "0",
     .description = "threads for heavy requests (batch number parsing, uploads; 0: half the cores, at least one)",
     .min = 0, .max = 1024},
    {.name = "server.max_waiting", .type = kInt, .default_value = "64",
     .description = "long polls that may wait at once; more get 503 with Retry-After: 1", .min = 0},
    {.name = "server.max_connections_per_address", .type = kInt, .default_value = "1024",
     .description = "open connections from one IP address; more get 429 (0: no limit)", .min = 0},
    {.name = "server.header_timeout_ms", .type = kInt, .default_value = "10000",
     .description = "a request's header must arrive within this of its first byte", .min = 1},
    {.name = "server.body_timeout_ms", .type = kInt, .default_value = "30000",
     .description = "a request's body must arrive within this of its header", .min = 1},

    // log
    {.name = "log.level", .type = kStr, .default_value = "info", .description = "least severity written",
     .choices = "debug|info|warn|error|off", .runtime = true},
    {.name = "log.json", .type = kBool, .default_value = "false",
     .description = "JSON lines instead of key=value", .runtime = true},
    {.name = "log.file", .type = kStr, .default_value = "", .description = "append logs to this file (empty: stderr)"},

    // relay (the messenger operator)
    {.name = "relay.enabled", .type = kBool, .default_value = "true", .description = "run the messenger relay"},
    {.name = "relay.code_sender", .type = kStr, .default_value = "dev",
     .description = "verification codes: dev (written to <data_dir>/verification-codes.log) or http (SMS gateway)",
     .choices = "dev|http"},
    {.name = "relay.sms_gateway_url", .type = kStr, .default_value = "",
     .description = "SMS gateway for relay.code_sender = http, http://host:port/path"},
    {.name = "relay.sms_gateway_timeout_ms", .type = kInt, .default_value = "10000",
     .description = "timeout of one request to the SMS gateway", .min = 1},
    {.name = "relay.max_queue_depth", .type = kInt, .default_value = "10000",
     .description = "envelopes waiting per device", .min = 1},
    {.name = "relay.directory_daily_budget", .type = kInt, .default_value = "2000",
     .description = "new numbers an account may look up per day", .min = 0},
    {.name = "relay.batch_max", .type = kInt, .default_value = "4096",
     .description = "operations per group commit", .min = 1},
    {.name = "relay.commit_gap_us", .type = kInt, .default_value = "1000",
     .description = "least time between the starts of two group commits", .min = 0, .max = 100000},
    {.name = "relay.checkpoint_interval_ms", .type = kInt, .default_value = "100",
     .description = "how often the background checkpointer copies the WAL into the database", .min = 1,
     .max = 60000},
    {.name = "relay.ack_purge_delay_ms", .type = kInt, .default_value = "1000",
     .description = "an acknowledged envelope's row is deleted by the first commit at least this long after it was "
                    "stored",
     .min = 0, .max = 3600000},
    {.name = "relay.dedup_retention_hours", .type = kInt, .default_value = "720",
     .description = "how long submission ids are remembered to drop duplicates", .min = 1},
    {.name = "relay.attachments.max_mib", .type = kInt, .default_value = "100",
     .description = "the largest attachment in MiB (its encrypted blob is a little larger)", .min = 1,
     .max = 4096},
    {.name = "relay.attachments.chunk_mib", .type = kInt, .default_value = "8",
     .description = "the largest chunk one upload request may carry, in MiB", .min = 1, .max = 64},
    {.name = "relay.attachments.quota_mib", .type = kInt, .default_value = "1024",
     .description = "blob bytes an account may keep stored at once, in MiB", .min = 1},
    {.name = "relay.attachments.retention_days", .type = kInt, .default_value = "30",
     .description = "a blob is deleted this long after its upload, or earlier when every device that got it "
                    "acknowledged the message carrying it",
     .min = 1, .max = 3650},
    {.name = "relay.attachments.incomplete_retention_hours", .type = kInt, .default_value = "24",
     .description = "an upload not finished this long after it was started is deleted", .min = 1,
     .max = 8760},
    {.name = "relay.limits.send.burst", .type = kInt, .default_value = "500",
     .description = "envelopes a device may send at once", .min = 1},
    {.name = "relay.limits.send.interval_ms", .type = kInt, .default_value = "10",
     .description = "one more envelope per this many ms", .min = 0},
    {.name = "relay.limits.lookup_miss.burst", .type = kInt, .default_value = "60",
     .description = "lookups of unregistered numbers per account at once", .min = 1},
    {.name = "relay.limits.lookup_miss.interval_ms", .type = kInt, .default_value = "60000",
     .description = "one more lookup miss per this many ms", .min = 0},
    {.name = "relay.limits.codes_per_number.burst", .type = kInt, .default_value = "3",
     .description = "verification codes per number at once", .min = 1},
    {.name = "relay.limits.codes_per_number.interval_ms", .type = kInt, .default_value = "600000",
     .description = "one more code per number per this many ms", .min = 0},
    {.name = "relay.limits.codes_per_prefix.burst", .type = kInt, .default_value = "20",
     .description = "verification codes per number range (all but the last 4 digits) at once", .min = 1},
    {.name = "relay.limits.codes_per_prefix.interval_ms", .type = kInt, .default_value = "180000",
     .description = "one more code per number range per this many ms", .min = 0},
    {.name = "relay.limits.codes_per_address.burst", .type = kInt, .default_value = "20",
     .description = "verification codes per client address at once", .min = 1},
    {.name = "relay.limits.codes_per_address.interval_ms", .type = kInt, .default_value = "180000",
     .description = "one more code per client address per this many ms", .min = 0},
    {.name = "relay.limits.verifies_per_address.burst", .type = kInt, .default_value = "30",
     .description = "code checks per client address at once", .min = 1},
    {.name = "relay.limits.verifies_per_address.interval_ms", .type = kInt, .default_value = "20000",
     .description = "one more check per client address per this many ms", .min = 0},
    {.name = "relay.limits.verifies_per_number.burst", .type = kInt, .default_value = "10",
     .description = "code checks per number at once, across reissued codes", .min = 1},
    {.name = "relay.limits.verifies_per_number.interval_ms", .type = kInt, .default_value = "3600000",
     .description = "one more check per number per this many ms", .min = 0},
    {.name = "relay.limits.bundle_fetches.burst", .type = kInt, .default_value = "100",
     .description = "prekey bundles an account may fetch at once", .min = 1},
    {.name = "relay.limits.bundle_fetches.interval_ms", .type = kInt, .default_value = "60000",
     .description = "one more bundle fetch per this many ms", .min = 0},

    // feed (the data-sharing agreement; both sides)
    {.name = "feed.token", .type = kStr, .default_value = "",
     .description = "bearer token of the social operator's feed consumer (messenger: empty disables the feed API; "
                    "random when relay and social run together and feed.url is unset)"},
    {.name = "feed.blocked_calling_codes", .type = kList, .default_value = "",
     .description = "calling codes whose numbers are never shared, e.g. 49,33"},
    {.name = "feed.usage_summary_interval_s", .type = kInt, .default_value = "3600",
     .description = "how often usage summaries are appended to the feed (also once at start)", .min = 1},
    {.name = "feed.url", .type = kStr, .default_value = "",
     .description = "social side: messenger operator host:port to pull the feed from (empty: no consumer; self when "
                    "relay and social run together)"},
    {.name = "feed.batch", .type = kInt, .default_value = "500", .description = "events per pull", .min = 1,
     .max = 5000},
    {.name = "feed.wait_ms", .type = kInt, .default_value = "25000",
     .description = "the long poll's wait_ms (0: no long polls)", .min = 0},
    {.name = "feed.poll_interval_ms", .type = kInt, .default_value = "200",
     .description = "without long polls: pause after a pull that returned everything", .min = 1},
    {.name = "feed.error_backoff_ms", .type = kInt, .default_value = "1000",
     .description = "pause after a failed pull", .min = 1},

    // social (the social operator)
    {.name = "social.enabled", .type = kBool, .default_value = "true", .description = "run the social network"},
    {.name = "social.db", .type = kStr, .default_value = "",
     .description = "the social database (empty: <data_dir>/social.db)"},
    {.name = "social.code_ttl_s", .type = kInt, .default_value = "600",
     .description = "how long a login code stays valid", .min = 1},
    {.name = "social.code_sender", .type = kStr, .default_value = "dev",
     .description = "login codes: dev (written to social.code_log) or http (SMS gateway)", .choices = "dev|http"},
    {.name = "social.code_log", .type = kStr, .default_value = "",
     .description = "file of the dev code sender (empty: <data_dir>/social-verification-codes.log)"},
    {.name = "social.sms_gateway_url", .type = kStr, .default_value = "",
     .description = "SMS gateway for social.code_sender = http, http://host:port/path"},
    {.name = "social.sms_gateway_timeout_ms", .type = kInt, .default_value = "10000",
     .description = "timeout of one request to the SMS gateway", .min = 1},
    {.name = "social.limits.codes_per_address.burst", .type = kInt, .default_value = "20",
     .description = "login codes per client address at once", .min = 1},
    {.name = "social.limits.codes_per_address.interval_ms", .type = kInt, .default_value = "1200000",
     .description = "one more code per client address per this many ms", .min = 0},
    {.name = "social.limits.codes_per_prefix.burst", .type = kInt, .default_value = "20",
     .description = "login codes per number range (all but the last 4 digits) at once", .min = 1},
    {.name = "social.limits.codes_per_prefix.interval_ms", .type = kInt, .default_value = "600000",
     .description = "one more code per number range per this many ms", .min = 0},
    {.name = "social.limits.codes_per_number.burst", .type = kInt, .default_value = "3",
     .description = "login codes per number at once", .min = 1},
    {.name = "social.limits.codes_per_number.interval_ms", .type = kInt, .default_value = "600000",
     .description = "one more code per number per this many ms", .min = 0},
    {.name = "social.limits.verifies_per_address.burst", .type = kInt, .default_value = "30",
     .description = "code checks per client address at once", .min = 1},
    {.name = "social.limits.verifies_per_address.interval_ms", .type = kInt, .default_value = "60000",
     .description = "one more check per client address per this many ms", .min = 0},
    {.name = "social.limits.verifies_per_number.burst", .type = kInt, .default_value = "10",
     .description = "code checks per number at once, across reissued codes", .min = 1},
    {.name = "social.limits.verifies_per_number.interval_ms", .type = kInt, .default_value = "3600000",
     .description = "one more check per number per this many ms", .min = 0},
    {.name = "social.limits.address_book_new_numbers.burst", .type = kInt, .default_value = "10000",
     .description = "new numbers an account's address-book uploads may add at once", .min = 1},
    {.name = "social.limits.address_book_new_numbers.interval_ms", .type = kInt, .default_value = "43200",
     .description = "one more new number per this many ms (2,000 a day)", .min = 0},

    // ads (the social operator's ad platform)
    {.name = "ads.enabled", .type = kBool, .default_value = "true",
     .description = "run the ad platform (needs social.enabled)"},
    {.name = "ads.admin_token", .type = kStr, .default_value = "",
     .description = "bearer token of the operator's advertiser sign-up over HTTP (empty: off)"},
    {.name = "ads.min_audience_size", .type = kInt, .default_value = "100",
     .description = "fewer matched people: never targetable", .min = 1},
    {.name = "ads.audience_budget_per_day", .type = kInt, .default_value = "10",
     .description = "audience creations per advertiser and UTC day", .min = 0},
    {.name = "ads.size_budget_per_day", .type = kInt, .default_value = "20",
     .description = "observations of new audience versions per advertiser and UTC day", .min = 0},
    {.name = "ads.ads_per_timeline", .type = kInt, .default_value = "2",
     .description = "ads mixed into one page of a user's timeline", .min = 0, .max = 10},
    {.name = "ads.ads_per_feed", .type = kInt, .default_value = "2",
     .description = "the older name of ads.ads_per_timeline, read when that key is not set", .min = 0, .max = 10},
    {.name = "ads.active_messenger_min_days", .type = kInt, .default_value = "7",
     .description = "days of the last 28 a user must have used the messenger to count as active", .min = 0,
     .max = 28},
    {.name = "ads.noise_scale", .type = kDbl, .default_value = "10",
     .description = "Laplace scale of the noise on audience sizes (0: none, for tests)", .min = 0, .max = 1000000},
    {.name = "ads.size_margin", .type = kDbl, .default_value = "80",
     .description = "a noisy size must reach ads.min_audience_size plus this to be targetable", .min = 0, .max = 1000000000},
};
// clang-format on

}  // namespace

std::span<const KeySpec> AllKeys() { return kKeys; }

}  // namespace tandem
