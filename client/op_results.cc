#include "client/op_results.h"

#include <array>
#include <cstring>

namespace pnfsgw::client {
using namespace nfs4;

namespace {
constexpr uint32_t kOk = NFS4_OK;
constexpr size_t kMaxName = NFS4_OPAQUE_LIMIT;
constexpr size_t kMaxPath = 4096;
constexpr size_t kMaxData = 64u << 20;     // READ data; the record bounds it first
constexpr size_t kMaxBody = 16u << 20;     // layout and device bodies
constexpr size_t kMaxAttrVals = 1u << 20;  // as Fattr::decode

template <size_t N>
void fixed(XdrDecoder& dec, std::array<uint8_t, N>* out) {
  auto s = dec.fixed_opaque(N);
  if (dec.ok()) std::memcpy(out->data(), s.data(), N);
}

std::vector<uint8_t> var(XdrDecoder& dec, size_t max) {
  auto s = dec.var_opaque(max);
  return std::vector<uint8_t>(s.begin(), s.end());
}

// nfsace4: type, flag, access_mask, who.
void skip_nfsace4(XdrDecoder& dec) {
  dec.u32();
  dec.u32();
  dec.u32();
  dec.string(kMaxName);
}

template <class R>
bool skip_as(XdrDecoder& dec, uint32_t status) {
  R r;
  return r.decode(dec, status);
}

// fattr4 { bitmap4 attrmask; opaque attr_vals<> } walked, not decoded.
void skip_fattr4(XdrDecoder& dec) {
  uint32_t words = dec.array_len(64);
  for (uint32_t i = 0; i < words; i++) dec.u32();
  dec.var_opaque(kMaxAttrVals);
}

// Walks that keep nothing, for results that are large or costly to decode
// (CompoundReply::parse walks every result before any is asked for).
struct GetattrSkip {
  static constexpr uint32_t kOp = OP_GETATTR;
  bool decode(XdrDecoder& dec, uint32_t status) {
    if (status == kOk) skip_fattr4(dec);
    return dec.ok();
  }
};

struct ReaddirSkip {
  static constexpr uint32_t kOp = OP_READDIR;
  bool decode(XdrDecoder& dec, uint32_t status) {
    if (status != kOk) return dec.ok();
    dec.fixed_opaque(NFS4_VERIFIER_SIZE);
    while (dec.ok() && dec.boolean()) {
      dec.u64();
      dec.string(kMaxName);
      skip_fattr4(dec);
    }
    dec.boolean();
    return dec.ok();
  }
};

// A row decodes with R's layout; Walk (R itself by default) is how parse
// steps over it.
template <class R, class Walk = R>
constexpr OpInfo row(const char* name) {
  static_assert(R::kOp == Walk::kOp);
  return OpInfo{R::kOp, name, &skip_as<Walk>};
}

constexpr OpInfo kOpTable[] = {
    row<AccessRes>("ACCESS"),
    row<CloseRes>("CLOSE"),
    row<CommitRes>("COMMIT"),
    row<CreateRes>("CREATE"),
    row<StatusOnlyRes<OP_DELEGPURGE>>("DELEGPURGE"),
    row<StatusOnlyRes<OP_DELEGRETURN>>("DELEGRETURN"),
    row<GetattrRes, GetattrSkip>("GETATTR"),
    row<GetfhRes>("GETFH"),
    row<LinkRes>("LINK"),
    row<LockRes>("LOCK"),
    row<LocktRes>("LOCKT"),
    row<LockuRes>("LOCKU"),
    row<LookupRes>("LOOKUP"),
    row<StatusOnlyRes<OP_LOOKUPP>>("LOOKUPP"),
    row<StatusOnlyRes<OP_NVERIFY>>("NVERIFY"),
    row<OpenRes>("OPEN"),
    row<StatusOnlyRes<OP_OPENATTR>>("OPENATTR"),
    row<OpenConfirmRes>("OPEN_CONFIRM"),
    row<OpenDowngradeRes>("OPEN_DOWNGRADE"),
    row<PutfhRes>("PUTFH"),
    row<StatusOnlyRes<OP_PUTPUBFH>>("PUTPUBFH"),
    row<PutrootfhRes>("PUTROOTFH"),
    row<ReadRes, ReadView>("READ"),
    row<ReaddirRes, ReaddirSkip>("READDIR"),
    row<ReadlinkRes>("READLINK"),
    row<RemoveRes>("REMOVE"),
    row<RenameRes>("RENAME"),
    row<RenewRes>("RENEW"),
    row<RestorefhRes>("RESTOREFH"),
    row<SavefhRes>("SAVEFH"),
    row<SetattrRes>("SETATTR"),
    row<SetclientidRes>("SETCLIENTID"),
    row<SetclientidConfirmRes>("SETCLIENTID_CONFIRM"),
    row<StatusOnlyRes<OP_VERIFY>>("VERIFY"),
    row<WriteRes>("WRITE"),
    row<StatusOnlyRes<OP_RELEASE_LOCKOWNER>>("RELEASE_LOCKOWNER"),
    row<StatusOnlyRes<OP_BACKCHANNEL_CTL>>("BACKCHANNEL_CTL"),
    row<BindConnToSessionRes>("BIND_CONN_TO_SESSION"),
    row<ExchangeIdRes>("EXCHANGE_ID"),
    row<CreateSessionRes>("CREATE_SESSION"),
    row<DestroySessionRes>("DESTROY_SESSION"),
    row<FreeStateidRes>("FREE_STATEID"),
    row<GetdeviceinfoRes>("GETDEVICEINFO"),
    row<LayoutcommitRes>("LAYOUTCOMMIT"),
    row<LayoutgetRes>("LAYOUTGET"),
    row<LayoutreturnRes>("LAYOUTRETURN"),
    row<SecinfoNoNameRes>("SECINFO_NO_NAME"),
    row<SequenceRes>("SEQUENCE"),
    row<TestStateidRes>("TEST_STATEID"),
    row<DestroyClientidRes>("DESTROY_CLIENTID"),
    row<ReclaimCompleteRes>("RECLAIM_COMPLETE"),
    row<AllocateRes>("ALLOCATE"),
    row<CopyRes>("COPY"),
    row<DeallocateRes>("DEALLOCATE"),
    row<OffloadCancelRes>("OFFLOAD_CANCEL"),
    row<OffloadStatusRes>("OFFLOAD_STATUS"),
    row<ReadPlusRes>("READ_PLUS"),
    row<SeekRes>("SEEK"),
    row<CloneRes>("CLONE"),
    row<StatusOnlyRes<OP_ILLEGAL>>("ILLEGAL"),
};
}  // namespace

std::span<const OpInfo> op_table() { return kOpTable; }

// kOpTable row of each op number below 128 (all but OP_ILLEGAL), -1 for
// none: find_op runs three times or more per reply.
constexpr auto kOpIndex = [] {
  std::array<int16_t, 128> index{};
  index.fill(-1);
  for (size_t i = 0; i < std::size(kOpTable); i++) {
    uint32_t op = kOpTable[i].op;
    if (op < index.size() && index[op] < 0) index[op] = static_cast<int16_t>(i);
  }
  return index;
}();

const OpInfo* find_op(uint32_t op) {
  if (op < kOpIndex.size()) return kOpIndex[op] < 0 ? nullptr : &kOpTable[kOpIndex[op]];
  for (const auto& row : kOpTable) {
    if (row.op == op) return &row;
  }
  return nullptr;
}

std::string op_name(uint32_t op) {
  const OpInfo* info = find_op(op);
  return info ? info->name : "OP_" + std::to_string(op);
}

void ChannelAttrs::encode(XdrEncoder& enc) const {
  enc.u32(headerpadsize);
  enc.u32(maxrequestsize);
  enc.u32(maxresponsesize);
  enc.u32(maxresponsesize_cached);
  enc.u32(maxoperations);
  enc.u32(maxrequests);
  enc.u32(0);  // ca_rdma_ird<1>: none
}

bool ChannelAttrs::decode(XdrDecoder& dec) {
  headerpadsize = dec.u32();
  maxrequestsize = dec.u32();
  maxresponsesize = dec.u32();
  maxresponsesize_cached = dec.u32();
  maxoperations = dec.u32();
  maxrequests = dec.u32();
  uint32_t n_ird = dec.array_len(1);
  for (uint32_t i = 0; i < n_ird; i++) dec.u32();
  return dec.ok();
}

bool SequenceRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  fixed(dec, &sessionid);
  sequenceid = dec.u32();
  slotid = dec.u32();
  highest_slotid = dec.u32();
  target_highest_slotid = dec.u32();
  status_flags = dec.u32();
  return dec.ok();
}

bool ExchangeIdRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  clientid = dec.u64();
  sequenceid = dec.u32();
  flags = dec.u32();
  state_protect = dec.u32();
  if (state_protect != SP4_NONE) {
    // We only ask for SP4_NONE; anything else is a server we can't follow.
    dec.fail();
    return false;
  }
  server_minor_id = dec.u64();
  server_major_id = var(dec, NFS4_OPAQUE_LIMIT);
  server_scope = var(dec, NFS4_OPAQUE_LIMIT);
  uint32_t n_impl = dec.array_len(1);
  if (n_impl == 1) {
    impl_domain = std::string(dec.string(kMaxName));
    impl_name = std::string(dec.string(kMaxName));
    dec.i64();  // nii_date
    dec.u32();
  }
  return dec.ok();
}

bool CreateSessionRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  fixed(dec, &sessionid);
  sequenceid = dec.u32();
  flags = dec.u32();
  fore.decode(dec);
  back.decode(dec);
  return dec.ok();
}

bool BindConnToSessionRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  fixed(dec, &sessionid);
  dir = dec.u32();
  use_rdma = dec.boolean();
  return dec.ok();
}

bool GetfhRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == kOk) fh.decode(dec);
  return dec.ok();
}

bool GetattrRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == kOk) attrs.decode(dec);
  return dec.ok();
}

bool AccessRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  supported = dec.u32();
  access = dec.u32();
  return dec.ok();
}

bool CommitRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == kOk) fixed(dec, &verf);
  return dec.ok();
}

bool CreateRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  cinfo.decode(dec);
  attrset.decode(dec);
  return dec.ok();
}

bool LinkRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == kOk) cinfo.decode(dec);
  return dec.ok();
}

bool LockDenied::decode(XdrDecoder& dec) {
  offset = dec.u64();
  length = dec.u64();
  locktype = dec.u32();
  clientid = dec.u64();
  owner = var(dec, NFS4_OPAQUE_LIMIT);
  return dec.ok();
}

bool LockRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == kOk) {
    stateid.decode(dec);
  } else if (status == NFS4ERR_DENIED) {
    denied.emplace().decode(dec);
  }
  return dec.ok();
}

bool LocktRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == NFS4ERR_DENIED) denied.emplace().decode(dec);
  return dec.ok();
}

bool OpenRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  stateid.decode(dec);
  cinfo.decode(dec);
  rflags = dec.u32();
  attrset.decode(dec);
  delegation_type = dec.u32();
  switch (delegation_type) {
    case OPEN_DELEGATE_NONE:
      break;
    case OPEN_DELEGATE_READ:
      delegation_stateid.decode(dec);
      dec.boolean();  // recall
      skip_nfsace4(dec);
      break;
    case OPEN_DELEGATE_WRITE:
      delegation_stateid.decode(dec);
      dec.boolean();        // recall
      switch (dec.u32()) {  // nfs_space_limit4
        case 1:
          dec.u64();
          break;  // NFS_LIMIT_SIZE
        case 2:
          dec.u32();
          dec.u32();
          break;  // NFS_LIMIT_BLOCKS
        default:
          dec.fail();
      }
      skip_nfsace4(dec);
      break;
    case OPEN_DELEGATE_NONE_EXT:
      why_no_delegation = dec.u32();
      if (why_no_delegation == WND4_CONTENTION || why_no_delegation == WND4_RESOURCE) {
        dec.boolean();
      }
      break;
    default:
      dec.fail();
  }
  return dec.ok();
}

bool ReadRes::decode(XdrDecoder& dec, uint32_t status) {
  ReadView v;
  if (!v.decode(dec, status)) return false;
  eof = v.eof;
  data.assign(v.data.begin(), v.data.end());
  return true;
}

bool ReadView::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  eof = dec.boolean();
  data = dec.var_opaque(kMaxData);
  return dec.ok();
}

bool ReaddirRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  // Counted first: a DirEntry is large, and growing the vector one entry at
  // a time moves every entry several times; the walk is cheap.
  XdrDecoder count = dec;
  size_t n = 0;
  for (count.fixed_opaque(NFS4_VERIFIER_SIZE); count.ok() && count.boolean(); n++) {
    count.u64();
    count.string(kMaxName);
    skip_fattr4(count);
  }
  entries.reserve(entries.size() + n);
  fixed(dec, &cookieverf);
  // entry4 *entries: a linked list on the wire, value_follows before each.
  while (dec.ok() && dec.boolean()) {
    DirEntry& e = entries.emplace_back();
    e.cookie = dec.u64();
    e.name = std::string(dec.string(kMaxName));
    e.attrs.decode(dec);
  }
  eof = dec.boolean();
  return dec.ok();
}

bool ReadlinkRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == kOk) link = std::string(dec.string(kMaxPath));
  return dec.ok();
}

bool RemoveRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == kOk) cinfo.decode(dec);
  return dec.ok();
}

bool RenameRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  source_cinfo.decode(dec);
  target_cinfo.decode(dec);
  return dec.ok();
}

bool SetattrRes::decode(XdrDecoder& dec, uint32_t status) {
  attrsset.decode(dec);
  return dec.ok();
}

bool WriteRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  count = dec.u32();
  committed = dec.u32();
  fixed(dec, &verf);
  return dec.ok();
}

bool TestStateidRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  uint32_t n = dec.array_len(1u << 16);
  for (uint32_t i = 0; i < n && dec.ok(); i++) status_codes.push_back(dec.u32());
  return dec.ok();
}

bool SecinfoNoNameRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  uint32_t n = dec.array_len(64);
  for (uint32_t i = 0; i < n && dec.ok(); i++) {
    uint32_t flavor = dec.u32();
    flavors.push_back(flavor);
    if (flavor == RPCSEC_GSS) {
      dec.var_opaque(kMaxName);  // oid
      dec.u32();                 // qop
      dec.u32();                 // service
    }
  }
  return dec.ok();
}

bool SetclientidRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == kOk) {
    clientid = dec.u64();
    fixed(dec, &confirm);
  } else if (status == NFS4ERR_CLID_INUSE) {
    dec.string(kMaxName);  // r_netid
    dec.string(kMaxName);  // r_addr
  }
  return dec.ok();
}

bool LayoutgetRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == NFS4ERR_LAYOUTTRYLATER) {
    will_signal_layout_avail = dec.boolean();
    return dec.ok();
  }
  if (status != kOk) return dec.ok();
  return_on_close = dec.boolean();
  stateid.decode(dec);
  uint32_t n = dec.array_len(1024, 24);
  for (uint32_t i = 0; i < n && dec.ok(); i++) {
    Layout& l = layouts.emplace_back();
    l.offset = dec.u64();
    l.length = dec.u64();
    l.iomode = dec.u32();
    l.type = dec.u32();
    l.body = var(dec, kMaxBody);
  }
  return dec.ok();
}

bool LayoutreturnRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == kOk && dec.boolean()) stateid.emplace().decode(dec);
  return dec.ok();
}

bool LayoutcommitRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == kOk && dec.boolean()) new_size = dec.u64();
  return dec.ok();
}

bool GetdeviceinfoRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == NFS4ERR_TOOSMALL) {
    mincount = dec.u32();
    return dec.ok();
  }
  if (status != kOk) return dec.ok();
  layout_type = dec.u32();
  addr_body = var(dec, kMaxBody);
  notification.decode(dec);
  return dec.ok();
}

bool SeekRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  eof = dec.boolean();
  offset = dec.u64();
  return dec.ok();
}

bool ReadPlusRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  eof = dec.boolean();
  uint32_t n = dec.array_len(1u << 20, 4);
  for (uint32_t i = 0; i < n && dec.ok(); i++) {
    ReadPlusSegment& seg = segments.emplace_back();
    seg.content = dec.u32();
    seg.offset = dec.u64();
    if (seg.content == NFS4_CONTENT_DATA) {
      seg.data = var(dec, kMaxData);
      seg.length = seg.data.size();
    } else if (seg.content == NFS4_CONTENT_HOLE) {
      seg.length = dec.u64();
    } else {
      dec.fail();
    }
  }
  return dec.ok();
}

bool CopyRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status == kOk) {
    uint32_t n = dec.array_len(1, 20);
    if (n == 1) callback_id.emplace().decode(dec);
    count = dec.u64();
    committed = dec.u32();
    fixed(dec, &verf);
  } else if (status != NFS4ERR_OFFLOAD_NO_REQS) {
    return dec.ok();
  }
  consecutive = dec.boolean();
  synchronous = dec.boolean();
  return dec.ok();
}

bool OffloadStatusRes::decode(XdrDecoder& dec, uint32_t status) {
  if (status != kOk) return dec.ok();
  count = dec.u64();
  if (dec.array_len(1) == 1) complete = dec.u32();
  return dec.ok();
}

}  // namespace pnfsgw::client
