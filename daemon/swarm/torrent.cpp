#include "swarm/torrent.h"

#include "core/files.h"

#include <libtorrent/create_torrent.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/torrent_info.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <map>
#include <mutex>
#include <thread>

namespace tz::swarm {
namespace {

constexpr std::size_t kChunkBytes = 4u << 20;  // work unit: at least one piece, about 4 MiB
const std::array<std::uint8_t, 64 * 1024> kZeros{};

Sha256 to_array(const lt::sha256_hash& h) {
  Sha256 a{};
  std::copy(h.begin(), h.end(), a.begin());
  return a;
}

Sha256 hash_pair(const Sha256& l, const Sha256& r) {
  lt::hasher256 h;
  h.update(reinterpret_cast<const char*>(l.data()), 32);
  h.update(reinterpret_cast<const char*>(r.data()), 32);
  return to_array(h.final());
}

// Root of a full binary tree over `leaves`, padded with `pad` up to
// `width` leaves (a power of two, >= leaves.size()). Destroys `leaves`.
Sha256 merkle_root(std::vector<Sha256>& leaves, std::size_t width, Sha256 pad) {
  leaves.resize(width, pad);
  while (leaves.size() > 1) {
    for (std::size_t i = 0; i < leaves.size() / 2; ++i) leaves[i] = hash_pair(leaves[2 * i], leaves[2 * i + 1]);
    leaves.resize(leaves.size() / 2);
    pad = hash_pair(pad, pad);
  }
  return leaves.front();
}

// Root of a subtree of `leaves` zero leaves.
Sha256 zero_subtree(std::size_t leaves) {
  Sha256 h{};
  for (std::size_t n = leaves; n > 1; n /= 2) h = hash_pair(h, h);
  return h;
}

// Hashes one piece of a file: `data` is the file's bytes in it (short for
// the last piece). Each 16 KiB block is hashed with SHA-256 (a v2 leaf) and
// fed to the piece's SHA-1 while it is still in the L1 cache, so each byte is
// brought in from memory once. `single_piece` files pad their block tree to
// the next power of two only, as BEP 52 requires; others to the full piece.
class PieceHasher {
 public:
  void start() {
    m_leaves.clear();
    m_v1 = lt::hasher();
    m_len = 0;
  }
  void update(std::span<const char> data) {
    for (std::size_t b = 0; b < data.size(); b += kBlockSize) {
      const auto blen = static_cast<int>(std::min<std::size_t>(kBlockSize, data.size() - b));
      m_leaves.push_back(to_array(lt::hasher256(data.data() + b, blen).final()));
      m_v1.update(data.data() + b, blen);
    }
    m_len += data.size();
  }
  // `pad_v1`: false only for the last piece of a torrent's only file, which
  // a hybrid torrent does not pad.
  void finish(std::uint64_t piece_size, bool single_piece, Sha1& v1_out, Sha256& v2_out, bool pad_v1 = true) {
    const std::size_t width = single_piece ? std::bit_ceil(m_leaves.size()) : piece_size / kBlockSize;
    v2_out = merkle_root(m_leaves, width, Sha256{});
    for (std::uint64_t pad = pad_v1 ? piece_size - m_len : 0; pad > 0;) {
      const auto n = static_cast<int>(std::min<std::uint64_t>(pad, kZeros.size()));
      m_v1.update(reinterpret_cast<const char*>(kZeros.data()), n);
      pad -= static_cast<std::uint64_t>(n);
    }
    const lt::sha1_hash v1 = m_v1.final();
    std::copy(v1.begin(), v1.end(), v1_out.begin());
  }

 private:
  std::vector<Sha256> m_leaves;
  lt::hasher m_v1;
  std::uint64_t m_len = 0;
};

struct Job {
  std::size_t file;
  std::uint64_t first_piece;
  std::uint64_t pieces;
};

struct Shared {
  std::span<const HashInput> files;
  std::vector<FileHashes>& out;
  std::vector<Job> jobs;
  std::uint64_t piece_size;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  boost::system::error_code ec;
  Diag diag;

  void fail_with(boost::system::error_code e, std::size_t file, std::string detail) {
    std::lock_guard lock(mu);
    if (!failed.exchange(true)) {
      ec = e;
      diag = Diag{files[file].name, std::move(detail)};
    }
  }
};

struct RunArgs {
  Shared* s;
  const Job* job;
  const HashInput* in;
  const char* data;
  std::uint64_t len;
  PieceHasher* ph;
};

// Hashes the pieces of one mapped run of a file.
void hash_run(RunArgs& r) {
  FileHashes& fh = r.s->out[r.job->file];
  const std::uint64_t piece_size = r.s->piece_size;
  const bool single_piece = r.in->size <= piece_size;
  for (std::uint64_t poff = 0; poff < r.len; poff += piece_size) {
    const std::uint64_t plen = std::min<std::uint64_t>(piece_size, r.len - poff);
    r.ph->start();
    r.ph->update({r.data + poff, static_cast<std::size_t>(plen)});
    const auto index = static_cast<std::size_t>(r.job->first_piece + poff / piece_size);
    r.ph->finish(piece_size, single_piece, fh.v1_pieces[index], fh.piece_layer[index]);
  }
}

void worker(Shared& s) {
  UniqueFd fd;
  std::size_t open_file = SIZE_MAX;
  PieceHasher ph;
  for (;;) {
    const std::size_t j = s.next.fetch_add(1);
    if (j >= s.jobs.size() || s.failed.load()) return;
    const Job& job = s.jobs[j];
    const HashInput& in = s.files[job.file];
    if (open_file != job.file) {
      fd.reset(::open(in.file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      open_file = job.file;
      if (fd.get() < 0) {
        const int err = errno;
        if (err == ELOOP) return s.fail_with(tz::errc::not_regular_file, job.file, "is a symbolic link");
        return s.fail_with({err, boost::system::generic_category()}, job.file, "cannot open");
      }
      struct stat st {};
      if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return s.fail_with(tz::errc::not_regular_file, job.file, "is not a regular file");
      }
      if (static_cast<std::uint64_t>(st.st_size) != in.size) {
        return s.fail_with(tz::errc::file_changed, job.file,
                           "size is " + std::to_string(st.st_size) + ", expected " + std::to_string(in.size));
      }
      ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    const std::uint64_t offset = job.first_piece * s.piece_size;
    const std::uint64_t len = std::min<std::uint64_t>(job.pieces * s.piece_size, in.size - offset);
    // Map the run and hash it in place: no copy out of the page cache, and
    // each block is read from memory once for both hashes. A file truncated
    // meanwhile raises SIGBUS, which run_guarding_sigbus turns into an error.
    void* map = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), static_cast<off_t>(offset));
    if (map == MAP_FAILED) return s.fail_with({errno, boost::system::generic_category()}, job.file, "cannot map");
    ::madvise(map, len, MADV_SEQUENTIAL);
    RunArgs run{&s, &job, &in, static_cast<const char*>(map), len, &ph};
    const bool ok = run_guarding_sigbus([](void* p) { hash_run(*static_cast<RunArgs*>(p)); }, &run);
    ::munmap(map, len);
    if (!ok) return s.fail_with(tz::errc::file_changed, job.file, "file shrank while being read");
  }
}

// Computes the pieces root of every file from its piece layer.
void finish_roots(std::vector<FileHashes>& out, std::uint64_t piece_size) {
  const Sha256 pad = zero_subtree(piece_size / kBlockSize);
  for (FileHashes& fh : out) {
    if (fh.piece_layer.empty()) continue;
    if (fh.piece_layer.size() == 1) {
      fh.root = fh.piece_layer.front();
    } else {
      std::vector<Sha256> layer = fh.piece_layer;
      fh.root = merkle_root(layer, std::bit_ceil(layer.size()), pad);
    }
  }
}

}  // namespace

int choose_piece_size(std::span<const std::uint64_t> sizes) {
  std::uint64_t total = 0;
  for (auto s : sizes) total += s;
  std::uint64_t p = kMinPieceSize;
  while (p < static_cast<std::uint64_t>(kMaxPieceSize) && total / p > 2048) p *= 2;
  const auto padding = [&](std::uint64_t piece) {
    std::uint64_t pad = 0;
    for (auto s : sizes) pad += (piece - s % piece) % piece;
    return pad;
  };
  while (p > static_cast<std::uint64_t>(kMinPieceSize) && padding(p) > total / 32) p /= 2;
  return static_cast<int>(p);
}

Result<std::vector<FileHashes>> hash_files(std::span<const HashInput> files, int piece_size, int threads,
                                           Diag* diag) {
  if (piece_size < kMinPieceSize || piece_size > kMaxPieceSize || !std::has_single_bit(unsigned(piece_size))) {
    return tz::errc::malformed_manifest;
  }
  const auto psize = static_cast<std::uint64_t>(piece_size);
  std::vector<FileHashes> out(files.size());
  Shared s{files, out, {}, psize, {}, {}, {}, {}, {}};
  const std::uint64_t pieces_per_job = std::max<std::uint64_t>(1, kChunkBytes / psize);
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::uint64_t pieces = (files[i].size + psize - 1) / psize;
    out[i].v1_pieces.resize(static_cast<std::size_t>(pieces));
    out[i].piece_layer.resize(static_cast<std::size_t>(pieces));
    for (std::uint64_t p = 0; p < pieces; p += pieces_per_job) {
      s.jobs.push_back({i, p, std::min(pieces_per_job, pieces - p)});
    }
  }
  const int n = std::clamp(threads, 1, 64);
  {
    std::vector<std::jthread> pool;
    for (int t = 1; t < n; ++t) pool.emplace_back([&s] { worker(s); });
    worker(s);
  }
  if (s.failed) {
    if (diag != nullptr) *diag = s.diag;
    return s.ec;
  }
  finish_roots(out, psize);
  return out;
}

FileHashes hash_buffer(std::span<const std::uint8_t> data, int piece_size, bool only_file) {
  const auto psize = static_cast<std::uint64_t>(piece_size);
  std::vector<FileHashes> out(1);
  FileHashes& fh = out[0];
  const std::uint64_t pieces = (data.size() + psize - 1) / psize;
  fh.v1_pieces.resize(static_cast<std::size_t>(pieces));
  fh.piece_layer.resize(static_cast<std::size_t>(pieces));
  PieceHasher ph;
  const std::span<const char> chars(reinterpret_cast<const char*>(data.data()), data.size());
  for (std::size_t p = 0; p < pieces; ++p) {
    const std::size_t off = p * psize;
    ph.start();
    ph.update(chars.subspan(off, std::min<std::size_t>(psize, data.size() - off)));
    ph.finish(psize, data.size() <= psize, fh.v1_pieces[p], fh.piece_layer[p], !(only_file && p + 1 == pieces));
  }
  finish_roots(out, psize);
  return std::move(out[0]);
}

Result<BuiltTorrent> build_torrent(const std::string& name, std::span<const TorrentFile> files, int piece_size) {
  try {
    lt::file_storage fs;
    std::map<std::string, const TorrentFile*> by_path;
    for (const auto& f : files) {
      fs.add_file(name + "/" + f.path.str(), static_cast<std::int64_t>(f.size));
      by_path[name + "/" + f.path.str()] = &f;
    }
    lt::create_torrent ct(fs, piece_size);
    ct.set_creator("tamizdat");
    ct.set_creation_date(0);
    const lt::file_storage& laid = ct.files();
    for (const lt::file_index_t fi : laid.file_range()) {
      if (laid.pad_file_at(fi) || laid.file_size(fi) == 0) continue;
      const auto it = by_path.find(laid.file_path(fi));
      if (it == by_path.end() || it->second->hashes == nullptr) return tz::errc::malformed_manifest;
      const FileHashes& h = *it->second->hashes;
      const auto first = static_cast<int>(laid.file_offset(fi) / piece_size);
      const auto pieces = static_cast<int>((laid.file_size(fi) + piece_size - 1) / piece_size);
      if (static_cast<int>(h.v1_pieces.size()) != pieces || static_cast<int>(h.piece_layer.size()) != pieces) {
        return tz::errc::malformed_manifest;
      }
      for (int p = 0; p < pieces; ++p) {
        ct.set_hash(lt::piece_index_t(first + p), lt::sha1_hash(reinterpret_cast<const char*>(h.v1_pieces[p].data())));
        ct.set_hash2(fi, lt::piece_index_t::diff_type(p),
                     lt::sha256_hash(reinterpret_cast<const char*>(h.piece_layer[p].data())));
      }
    }
    BuiltTorrent out;
    const std::vector<char> buf = ct.generate_buf();
    out.bytes.assign(buf.begin(), buf.end());
    lt::error_code ec;
    const lt::torrent_info ti(lt::span<const char>(buf), ec, lt::from_span);
    if (ec) return tz::errc::malformed_manifest;
    const lt::info_hash_t ih = ti.info_hashes();
    if (!ih.has_v1() || !ih.has_v2()) return tz::errc::malformed_manifest;
    std::copy(ih.v2.begin(), ih.v2.end(), out.info_hash_v2.begin());
    std::copy(ih.v1.begin(), ih.v1.end(), out.info_hash_v1.begin());
    out.name = name;
    out.magnet = lt::make_magnet_uri(ti);
    out.piece_size = piece_size;
    return out;
  } catch (const lt::system_error&) {
    return tz::errc::malformed_manifest;
  }
}

}  // namespace tz::swarm
