#include "schema/record.h"

#include "schema/flatbuffer_view.h"

#include <xxhash.h>
#include <array>
#include <cstring>
#include <string>

namespace flowstat::schema {
namespace {

void AppendU32(std::string* out, uint32_t v) {
  char b[4] = {char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
  out->append(b, 4);
}

uint16_t EncodeFlags(const EventView& e) {
  uint16_t f = 0;
  if (e.action == Action::kReject) f |= kFlagReject;
  if (e.observed) f |= kFlagObserved;
  f |= static_cast<uint16_t>(static_cast<uint16_t>(e.observed_action) << kObservedActionShift);
  if (e.destination_port) f |= kFlagHasPort;
  if (e.protocol) f |= kFlagHasProtocol;
  if (e.encrypted) f |= kFlagHasEncrypted | (*e.encrypted ? kFlagEncrypted : 0);
  if (e.observed_encrypted) {
    f |= kFlagHasObservedEncrypted | (*e.observed_encrypted ? kFlagObservedEncrypted : 0);
  }
  return f;
}

Status DecodeString(const EntryLookup& lookup, uint32_t id, EntryKind kind, std::string* out) {
  auto p = lookup.Payload(id, kind);
  if (!p) return Status::Corruption("record references unknown dictionary entry " + std::to_string(id));
  out->assign(*p);
  return Status::Ok();
}

Status DecodeOptional(const EntryLookup& lookup, uint32_t id, EntryKind kind, std::optional<std::string>* out) {
  if (id == 0) {
    out->reset();
    return Status::Ok();
  }
  out->emplace();
  return DecodeString(lookup, id, kind, &**out);
}

// An address field: the address itself when `inline_ipv4`, else a dictionary id (0: absent).
Status DecodeAddress(const EntryLookup& lookup, uint32_t field, bool inline_ipv4, std::optional<std::string>* out) {
  if (!inline_ipv4) return DecodeOptional(lookup, field, EntryKind::kAddress, out);
  *out = FormatIpv4(field);
  return Status::Ok();
}

Status DecodeTags(const EntryLookup& lookup, uint32_t id, std::vector<std::string>* tags) {
  tags->clear();
  if (id == 0) return Status::Ok();
  auto list = lookup.Payload(id, EntryKind::kTagList);
  if (!list || list->size() % 4 != 0) return Status::Corruption("bad tag list entry " + std::to_string(id));
  for (size_t i = 0; i < list->size(); i += 4) {
    uint32_t tag_id;
    std::memcpy(&tag_id, list->data() + i, 4);  // little-endian hosts only (checked in CMake)
    tags->emplace_back();
    Status s = DecodeString(lookup, tag_id, EntryKind::kTag, &tags->back());
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

std::optional<std::string> FromFb(const flatbuffers::String* s) {
  return s ? std::optional<std::string>(s->str()) : std::nullopt;
}

Status DecodeDetails(const EntryLookup& lookup, uint32_t id, FlowEvent* e) {
  if (id == 0) return Status::Ok();
  auto p = lookup.Payload(id, EntryKind::kDetails);
  if (!p) return Status::Corruption("record references unknown details entry " + std::to_string(id));
  std::vector<uint64_t> scratch;
  const fb::EventDetails* d = VerifiedRoot<fb::EventDetails>(*p, &scratch);
  if (!d) return Status::Corruption("bad details entry");
  e->drop_reason = FromFb(d->drop_reason());
  e->observed_drop_reason = FromFb(d->observed_drop_reason());
  e->policy_id = FromFb(d->policy_id());
  e->policy_namespace = FromFb(d->policy_namespace());
  e->observed_policy_id = FromFb(d->observed_policy_id());
  e->observed_policy_namespace = FromFb(d->observed_policy_namespace());
  e->service_type = FromFb(d->service_type());
  e->service_id = FromFb(d->service_id());
  e->service_url = FromFb(d->service_url());
  return Status::Ok();
}

}  // namespace

uint32_t RecordEncoder::Cache::Find(std::string_view key, uint64_t hash) const {
  const uint32_t ref = index_.Find(hash, [&](uint32_t r) { return keys_[r - 1] == key; });
  return ref ? ids_[ref - 1] : 0;
}

void RecordEncoder::Cache::Insert(std::string_view key, uint64_t hash, uint32_t id) {
  if (keys_.size() >= kMaxCached) {
    index_.Clear();
    keys_.clear();
    ids_.clear();
  }
  keys_.emplace_back(key);
  ids_.push_back(id);
  index_.Insert(hash, static_cast<uint32_t>(keys_.size()));
}

uint32_t RecordEncoder::TagList(const std::vector<std::string_view>& tags) {
  if (tags.empty()) return 0;
  key_.clear();
  for (std::string_view tag : tags) AppendU32(&key_, static_cast<uint32_t>(tag.size())), key_.append(tag);
  const uint64_t hash = XXH3_64bits(key_.data(), key_.size());
  if (uint32_t id = tag_lists_.Find(key_, hash)) return id;
  std::string ids;
  ids.reserve(tags.size() * 4);
  for (std::string_view tag : tags) AppendU32(&ids, interner_.Intern(EntryKind::kTag, tag));
  const uint32_t id = interner_.Intern(EntryKind::kTagList, ids);
  tag_lists_.Insert(key_, hash, id);
  return id;
}

std::string_view RecordEncoder::DetailsPayload(const EventView& e) {
  const auto& d = e.details;
  bool any = false;
  for (const auto& part : d) any = any || part.has_value();
  if (!any) return {};
  flatbuffers::FlatBufferBuilder& b = details_;
  b.Clear();
  auto str = [&](const std::optional<std::string_view>& s) {
    return s ? b.CreateString(s->data(), s->size()) : flatbuffers::Offset<flatbuffers::String>();
  };
  // The strings are serialized last field first, one statement each. Written as arguments of
  // one call, their order would be the compiler's (GCC evaluates arguments right to left, clang
  // left to right), and so would these bytes, which are the event's identity (doc/input.md):
  // the order GCC always used is kept, so stores written before stay consistent.
  std::array<flatbuffers::Offset<flatbuffers::String>, 9> s;
  for (size_t i = s.size(); i-- > 0;) s[i] = str(d[i]);
  b.Finish(fb::CreateEventDetails(b, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8]));
  return std::string_view(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

std::optional<uint32_t> InlineIpv4(std::string_view address) {
  uint32_t value = 0;
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0 && (i >= address.size() || address[i++] != '.')) return std::nullopt;
    const size_t start = i;
    uint32_t n = 0;
    while (i < address.size() && i - start < 3 && address[i] >= '0' && address[i] <= '9') {
      n = n * 10 + static_cast<uint32_t>(address[i++] - '0');
    }
    const size_t digits = i - start;
    if (digits == 0 || n > 255 || (digits > 1 && address[start] == '0')) return std::nullopt;
    value = value << 8 | n;
  }
  if (i != address.size()) return std::nullopt;
  return value;
}

std::string FormatIpv4(uint32_t address) {
  return std::to_string(address >> 24) + '.' + std::to_string((address >> 16) & 255) + '.' +
         std::to_string((address >> 8) & 255) + '.' + std::to_string(address & 255);
}

uint32_t RecordEncoder::Address(const std::optional<std::string_view>& address, uint16_t inline_flag, uint16_t* flags) {
  if (!address) return 0;
  // Inline: most addresses are IPv4, and a fleet has many of them (a dictionary lookup each).
  if (const auto ipv4 = InlineIpv4(*address)) {
    *flags |= inline_flag;
    return *ipv4;
  }
  return interner_.Intern(EntryKind::kAddress, *address);
}

EventRecord RecordEncoder::Encode(const EventView& e) {
  const uint8_t types =
      static_cast<uint8_t>(static_cast<uint8_t>(e.source_type) | (static_cast<uint8_t>(e.destination_type) << 2));
  uint16_t flags = EncodeFlags(e);
  // The details entry (about one per source and destination pair) is the lookup that misses the
  // CPU caches: its table is fetched while the few IDs, tags and namespaces are looked up.
  const std::string_view details = DetailsPayload(e);
  if (!details.empty()) interner_.Prefetch(EntryKind::kDetails, details);
  const uint32_t source_ip = Address(e.source_ip, kFlagSourceIpv4, &flags);
  const uint32_t destination_ip = Address(e.destination_ip, kFlagDestinationIpv4, &flags);
  // One statement each, so that new entries get ids in the same order whatever the compiler.
  const uint32_t destination_tags = TagList(e.destination_tags);
  const uint32_t source_tags = TagList(e.source_tags);
  const uint32_t namespace_id = interner_.Intern(EntryKind::kNamespace, e.namespace_);
  const uint32_t destination_id = interner_.Intern(EntryKind::kEntityId, e.destination_id);
  const uint32_t source_id = interner_.Intern(EntryKind::kEntityId, e.source_id);
  const uint32_t details_id = details.empty() ? 0 : interner_.Intern(EntryKind::kDetails, details);
  return EventRecord(source_id, destination_id, e.timestamp_ms, e.value, namespace_id, source_tags, destination_tags,
                     source_ip, destination_ip, details_id, e.destination_port.value_or(0), flags,
                     e.protocol.value_or(0), types, 0);
}

Status DecodeEvent(const EventRecord& r, const EntryLookup& lookup, FlowEvent* e) {
  *e = FlowEvent();
  e->timestamp_ms = r.time_ms();
  e->value = r.value();
  Status s = DecodeString(lookup, r.namespace_id(), EntryKind::kNamespace, &e->namespace_);
  if (s.ok()) s = DecodeString(lookup, r.source_id(), EntryKind::kEntityId, &e->source_id);
  if (s.ok()) s = DecodeString(lookup, r.destination_id(), EntryKind::kEntityId, &e->destination_id);
  if (s.ok()) s = DecodeTags(lookup, r.source_tags(), &e->source_tags);
  if (s.ok()) s = DecodeTags(lookup, r.destination_tags(), &e->destination_tags);
  if (s.ok()) s = DecodeAddress(lookup, r.source_ip(), (r.flags() & kFlagSourceIpv4) != 0, &e->source_ip);
  if (s.ok()) {
    s = DecodeAddress(lookup, r.destination_ip(), (r.flags() & kFlagDestinationIpv4) != 0, &e->destination_ip);
  }
  if (s.ok()) s = DecodeDetails(lookup, r.details(), e);
  if (!s.ok()) return s;
  const uint16_t f = r.flags();
  e->action = (f & kFlagReject) ? Action::kReject : Action::kAccept;
  e->observed = (f & kFlagObserved) != 0;
  e->observed_action = ObservedActionOf(r);
  if (f & kFlagHasPort) e->destination_port = r.destination_port();
  if (f & kFlagHasProtocol) e->protocol = r.protocol();
  if (f & kFlagHasEncrypted) e->encrypted = (f & kFlagEncrypted) != 0;
  if (f & kFlagHasObservedEncrypted) e->observed_encrypted = (f & kFlagObservedEncrypted) != 0;
  e->source_type = static_cast<EndpointType>(r.endpoint_types() & 3u);
  e->destination_type = static_cast<EndpointType>((r.endpoint_types() >> 2) & 3u);
  return Status::Ok();
}

}  // namespace flowstat::schema
