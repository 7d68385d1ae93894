#include "replicator/read_only_session.h"

#include <unistd.h>

#include "replicator/client_session.h"
#include "replicator/tls/identity.h"
#include "replicator/tls/tls_context.h"

namespace mirrorfs::replicator {

Result<ReadOnlyChannel> open_read_only(const std::string& state_dir,
                                       const MirrorTarget& mirror,
                                       const ReadOnlyHello& hello) {
  Result<tls::Identity> identity = tls::load_identity(state_dir);
  if (identity.status().code() == Code::kNotFound) {
    return Status(Code::kNotFound,
                  "no key in " + state_dir + ": run 'mirrorfs keygen --state " +
                      state_dir + "' and allow its fingerprint on the mirror");
  }
  if (!identity.is_ok()) return identity.status();
  MIRRORFS_ASSIGN_OR_RETURN(
      tls, tls::make_client_context(*identity, mirror.fingerprint));
  ReadOnlyChannel out;
  MIRRORFS_ASSIGN_OR_RETURN(channel, Channel::connect(mirror.host, mirror.port,
                                                      tls, ChannelOptions{}));
  out.channel = std::move(channel);
  wire::Hello h;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  h.client_name = std::string(host) + hello.client_suffix;
  h.journal_id = hello.journal_id;
  h.capabilities = wire::kCapReadOnly;
  MIRRORFS_ASSIGN_OR_RETURN(
      ok, say_hello(*out.channel, h, std::chrono::seconds(30)));
  if (!(ok.capabilities & wire::kCapReadOnly)) {
    return Status::unsupported(
        "mirror " + mirror.name +
        " does not offer read-only sessions (a newer 'mirrorfs serve' does)");
  }
  out.hello_ok = ok;
  return out;
}

}  // namespace mirrorfs::replicator
