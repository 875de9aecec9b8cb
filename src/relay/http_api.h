// The relay's HTTP JSON API (registration, account, keys, directory),
// mapped onto AccountService. Binary values (keys, signatures) travel as
// standard base64. Errors are {"error": {"code", "message"}} with the HTTP
// status of net::Response::Error. docs/relay-protocol.md has examples.
#pragma once

#include "net/http.h"
#include "relay/accounts.h"
#include "relay/device_links.h"

namespace tandem::relay {

// Adds every /v1 route of the relay to `router`. `accounts` must outlive it.
void RegisterHttpRoutes(AccountService& accounts, net::Router& router);

// Adds the linked-device routes (/v1/provisioning, /v1/devices). Both must
// outlive the router.
void RegisterDeviceLinkRoutes(AccountService& accounts, DeviceLinks& links, net::Router& router);

}  // namespace tandem::relay
