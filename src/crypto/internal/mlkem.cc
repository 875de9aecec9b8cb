// ML-KEM-1024 and Kyber-1024 (round 3); see mlkem.h.
//
// Arithmetic follows the usual fast layout: coefficients are int16 in a
// signed range, products go through Montgomery reduction (R = 2^16) and sums
// through Barrett reduction, the NTT is the 7-layer Cooley-Tukey transform
// into 128 degree-one residues, and polynomials stay in the NTT domain
// wherever the algorithms allow. Every bound noted below keeps |x| < 2^15.
#include "crypto/internal/mlkem.h"

#include <openssl/evp.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "crypto/internal/primitives.h"

namespace tandem::crypto::internal::mlkem {
namespace {

constexpr int kN = 256;
constexpr int kK = 4;
constexpr int16_t kQ = 3329;
constexpr int kDu = 11;
constexpr int kDv = 5;
constexpr size_t kPolyBytes = 384;                 // ByteEncode12 of one polynomial
constexpr size_t kPolyVecBytes = kK * kPolyBytes;  // 1536
constexpr size_t kUBytes = kK * kN * kDu / 8;      // 1408
constexpr size_t kVBytes = kN * kDv / 8;           // 160
constexpr size_t kCbdBytes = 64 * 2;               // PRF output for η = 2
constexpr size_t kShake128Rate = 168;
static_assert(kUBytes + kVBytes == kCiphertextSize);
static_assert(kPolyVecBytes + 32 == kPublicKeySize);
static_assert(kPolyVecBytes + kPublicKeySize + 64 == kSecretKeySize);

// q^-1 mod 2^16 (62209), as the int16 it wraps to.
constexpr int16_t kQInv = -3327;

constexpr int16_t MontgomeryReduce(int32_t a) {
  // For |a| < q * 2^15 returns a * 2^-16 mod q in (-q, q).
  int16_t t = static_cast<int16_t>(static_cast<int16_t>(a) * kQInv);
  return static_cast<int16_t>((a - static_cast<int32_t>(t) * kQ) >> 16);
}

// MontgomeryReduce(a * b), computed from the high and low halves of 16-bit
// products: a * b and t * q agree in their low 16 bits, so the difference of
// their high halves is exact. Written so, the compiler maps each product to
// a vector multiply-high or multiply-low.
constexpr int16_t FqMul(int16_t a, int16_t b) {
  int16_t high = static_cast<int16_t>((static_cast<int32_t>(a) * b) >> 16);
  int16_t low = static_cast<int16_t>(a * b);
  int16_t t = static_cast<int16_t>(low * kQInv);
  int16_t tq_high = static_cast<int16_t>((static_cast<int32_t>(t) * kQ) >> 16);
  return static_cast<int16_t>(high - tq_high);
}
static_assert(FqMul(1353, 1) == MontgomeryReduce(1353) &&
              FqMul(-3000, 3000) == MontgomeryReduce(-3000 * 3000));

constexpr int16_t BarrettReduce(int16_t a) {
  // The representative of a mod q in [-(q-1)/2, (q-1)/2]; v = round(2^26 / q).
  constexpr int32_t v = ((1 << 26) + kQ / 2) / kQ;
  int16_t t = static_cast<int16_t>((v * a + (1 << 25)) >> 26);
  return static_cast<int16_t>(a - t * kQ);
}

// Maps (-q, q) to [0, q) without a branch.
constexpr uint16_t Canonical(int16_t a) { return static_cast<uint16_t>(a + ((a >> 15) & kQ)); }

// Maps [0, 2q) to [0, q): decoded 12-bit values from keys, which are public
// (t̂) or fixed for the key's lifetime (ŝ), never above 4095 < 2q.
constexpr int16_t SubtractQIfAbove(int16_t a) {
  int16_t t = static_cast<int16_t>(a - kQ);
  return static_cast<int16_t>(t + ((t >> 15) & kQ));
}

constexpr int16_t ModPow(int64_t base, int exponent) {
  int64_t result = 1;
  for (int i = 0; i < exponent; ++i) result = result * base % kQ;
  return static_cast<int16_t>(result);
}

constexpr int BitReverse7(int i) {
  int r = 0;
  for (int bit = 0; bit < 7; ++bit) r |= ((i >> bit) & 1) << (6 - bit);
  return r;
}

// zetas[i] = 17^BitReverse7(i) * 2^16 mod q, centered: 17 is the primitive
// 256th root of unity FIPS 203 fixes, the bit-reversed order is the order the
// butterflies use them, and the Montgomery factor makes FqMul(zeta, x) the
// plain product zeta * x.
constexpr std::array<int16_t, 128> MakeZetas() {
  std::array<int16_t, 128> zetas{};
  for (int i = 0; i < 128; ++i) {
    int32_t z = static_cast<int32_t>(ModPow(17, BitReverse7(i))) * 65536 % kQ;
    if (z > kQ / 2) z -= kQ;
    zetas[i] = static_cast<int16_t>(z);
  }
  return zetas;
}
constexpr std::array<int16_t, 128> kZetas = MakeZetas();
static_assert(kZetas[0] == -1044 && kZetas[1] == -758 && kZetas[127] == 1628);

struct Poly {
  std::array<int16_t, kN> c;
};
using PolyVec = std::array<Poly, kK>;
using Matrix = std::array<PolyVec, kK>;

template <typename T>
void WipeObject(T& object) {
  Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&object), sizeof object));
}

void Reduce(Poly& p) {
  for (int16_t& x : p.c) x = BarrettReduce(x);
}

// One Cooley-Tukey layer: blocks of 2 * Len coefficients, block b using
// zetas[b]. Len is a template argument so each layer's loops have constant
// bounds the compiler can unroll and vectorize.
template <int Len>
void NttLayer(Poly& p, const int16_t* zetas) {
  for (int block = 0; block < kN / (2 * Len); ++block) {
    const int16_t zeta = zetas[block];
    int16_t* a = p.c.data() + block * 2 * Len;
    for (int j = 0; j < Len; ++j) {
      int16_t t = FqMul(zeta, a[j + Len]);
      a[j + Len] = static_cast<int16_t>(a[j] - t);
      a[j] = static_cast<int16_t>(a[j] + t);
    }
  }
}

// Input |x| < q; output in NTT order (bit-reversed pairs), reduced. Layer
// with 128 / Len blocks uses zetas[128 / Len ...].
void Ntt(Poly& p) {
  NttLayer<128>(p, &kZetas[1]);
  NttLayer<64>(p, &kZetas[2]);
  NttLayer<32>(p, &kZetas[4]);
  NttLayer<16>(p, &kZetas[8]);
  NttLayer<8>(p, &kZetas[16]);
  NttLayer<4>(p, &kZetas[32]);
  NttLayer<2>(p, &kZetas[64]);
  // Each layer adds less than q in magnitude: |x| < 8q before this.
  Reduce(p);
}

// One Gentleman-Sande layer; block b of B = 128 / Len uses zetas[2B - 1 - b].
// Walking the zetas backwards gives 17^(128 - e) = -17^-e, which the
// (b - a) difference compensates. Differences leave FqMul below q; sums
// double their bound unless Reduce, so with inputs below 4q every third
// layer is enough to stay within int16 (sums below 8q, and differences
// below 8q keep FqMul's product below q * 2^15).
template <int Len, bool Reduce>
void InvNttLayer(Poly& p) {
  constexpr int kBlocks = kN / (2 * Len);
  for (int block = 0; block < kBlocks; ++block) {
    const int16_t zeta = kZetas[2 * kBlocks - 1 - block];
    int16_t* a = p.c.data() + block * 2 * Len;
    for (int j = 0; j < Len; ++j) {
      int16_t t = a[j];
      int16_t sum = static_cast<int16_t>(t + a[j + Len]);
      a[j] = Reduce ? BarrettReduce(sum) : sum;
      a[j + Len] = FqMul(zeta, static_cast<int16_t>(a[j + Len] - t));
    }
  }
}

// The inverse of Ntt, times 2^16 (so that after BaseMul's 2^-16 the result
// is the plain product). Input |x| < q; bounds after each layer: 2q, 4q, q,
// 2q, 4q, q, 2q; the final FqMul brings them below q.
void InvNttToMont(Poly& p) {
  InvNttLayer<2, false>(p);
  InvNttLayer<4, false>(p);
  InvNttLayer<8, true>(p);
  InvNttLayer<16, false>(p);
  InvNttLayer<32, false>(p);
  InvNttLayer<64, true>(p);
  InvNttLayer<128, false>(p);
  constexpr int16_t kF = 1441;  // 2^32 / 128 mod q: undoes the seven halvings, adds 2^16
  for (int16_t& x : p.c) x = FqMul(x, kF);
}

// In the NTT domain a polynomial is 128 residues mod X^2 - γ_i, with
// γ_i = ±zetas[64 + i / 2] alternating in sign. A product needs b1 * γ for
// each pair of the right-hand factor; vectors multiplied by several others
// (ŷ by four rows of Âᵀ and by t̂) compute them once.
struct MulCache {
  std::array<std::array<int16_t, kN / 2>, kK> odd_times_gamma;
};

void ComputeMulCache(const PolyVec& b, MulCache& cache) {
  for (int v = 0; v < kK; ++v) {
    for (int i = 0; i < kN / 4; ++i) {
      cache.odd_times_gamma[v][2 * i] = FqMul(b[v].c[4 * i + 1], kZetas[64 + i]);
      cache.odd_times_gamma[v][2 * i + 1] = FqMul(b[v].c[4 * i + 3], static_cast<int16_t>(-kZetas[64 + i]));
    }
  }
}

// r = sum_v a[v] ∘ b[v] in the NTT domain, times 2^-16, with |r| < q.
// Products accumulate in 32 bits and are reduced once: with every input
// below q in magnitude each sum stays below 8q^2 < q * 2^15, the bound of
// MontgomeryReduce.
void BaseMulAccumulate(Poly& r, const PolyVec& a, const PolyVec& b, const MulCache& cache) {
  for (int i = 0; i < kN / 2; ++i) {
    int32_t even = 0, odd = 0;
    for (int v = 0; v < kK; ++v) {
      const int32_t a0 = a[v].c[2 * i], a1 = a[v].c[2 * i + 1];
      const int32_t b0 = b[v].c[2 * i], b1 = b[v].c[2 * i + 1];
      even += a0 * b0 + a1 * cache.odd_times_gamma[v][i];
      odd += a0 * b1 + a1 * b0;
    }
    r.c[2 * i] = MontgomeryReduce(even);
    r.c[2 * i + 1] = MontgomeryReduce(odd);
  }
}

void Add(Poly& r, const Poly& a) {
  for (int i = 0; i < kN; ++i) r.c[i] = static_cast<int16_t>(r.c[i] + a.c[i]);
}

// --- Encodings -------------------------------------------------------------

// ByteEncode_d / ByteDecode_d: d-bit values packed least significant bit
// first, eight values to d bytes. The loops depend only on d, never on the
// values.
template <int D>
void PackBits(const std::array<uint16_t, kN>& values, uint8_t* out) {
  if constexpr (D == 12) {
    for (int i = 0; i < kN / 2; ++i) {
      const uint16_t v0 = values[2 * i], v1 = values[2 * i + 1];
      out[3 * i] = static_cast<uint8_t>(v0);
      out[3 * i + 1] = static_cast<uint8_t>((v0 >> 8) | (v1 << 4));
      out[3 * i + 2] = static_cast<uint8_t>(v1 >> 4);
    }
    return;
  }
  for (int group = 0; group < kN / 8; ++group) {
    unsigned __int128 acc = 0;
    for (int j = 0; j < 8; ++j) acc |= static_cast<unsigned __int128>(values[8 * group + j]) << (D * j);
    for (int b = 0; b < D; ++b) *out++ = static_cast<uint8_t>(acc >> (8 * b));
  }
}

template <int D>
void UnpackBits(const uint8_t* in, std::array<uint16_t, kN>& values) {
  if constexpr (D == 12) {
    for (int i = 0; i < kN / 2; ++i) {
      values[2 * i] = static_cast<uint16_t>(in[3 * i] | ((in[3 * i + 1] & 0x0f) << 8));
      values[2 * i + 1] = static_cast<uint16_t>((in[3 * i + 1] >> 4) | (in[3 * i + 2] << 4));
    }
    return;
  }
  for (int group = 0; group < kN / 8; ++group) {
    unsigned __int128 acc = 0;
    for (int b = 0; b < D; ++b) acc |= static_cast<unsigned __int128>(*in++) << (8 * b);
    for (int j = 0; j < 8; ++j)
      values[8 * group + j] = static_cast<uint16_t>((acc >> (D * j)) & ((1u << D) - 1));
  }
}

// Compress_d(x) = round(2^d x / q) mod 2^d for x in [0, q). The division by
// q is a multiplication by ceil(2^36 / q), exact for numerators below 2^23
// (the rounding error times the numerator stays below 2^36), so secret
// coefficients never meet a division instruction.
template <int D>
constexpr uint16_t Compress(uint16_t x) {
  constexpr uint64_t kMultiplier = ((uint64_t{1} << 36) + kQ - 1) / kQ;
  uint64_t numerator = (static_cast<uint64_t>(x) << D) + kQ / 2;
  return static_cast<uint16_t>(((numerator * kMultiplier) >> 36) & ((1u << D) - 1));
}

// Decompress_d(y) = round(q y / 2^d).
template <int D>
constexpr int16_t Decompress(uint16_t y) {
  return static_cast<int16_t>((static_cast<uint32_t>(y) * kQ + (1u << (D - 1))) >> D);
}

void Encode12(const Poly& p, uint8_t* out) {
  std::array<uint16_t, kN> values;
  for (int i = 0; i < kN; ++i) values[i] = Canonical(p.c[i]);
  PackBits<12>(values, out);
}

void Decode12(const uint8_t* in, Poly& p) {
  std::array<uint16_t, kN> values;
  UnpackBits<12>(in, values);
  for (int i = 0; i < kN; ++i) p.c[i] = SubtractQIfAbove(static_cast<int16_t>(values[i]));
}

template <int D>
void CompressAndPack(const Poly& p, uint8_t* out) {
  std::array<uint16_t, kN> values;
  for (int i = 0; i < kN; ++i) values[i] = Compress<D>(Canonical(p.c[i]));
  PackBits<D>(values, out);
  WipeObject(values);
}

template <int D>
void UnpackAndDecompress(const uint8_t* in, Poly& p) {
  std::array<uint16_t, kN> values;
  UnpackBits<D>(in, values);
  for (int i = 0; i < kN; ++i) p.c[i] = Decompress<D>(values[i]);
}

// Decompress_1(ByteDecode_1(m)): bit b becomes b * (q + 1) / 2, by mask.
void MessageToPoly(const uint8_t* m, Poly& p) {
  for (int i = 0; i < kN; ++i) {
    int16_t bit = static_cast<int16_t>((m[i / 8] >> (i % 8)) & 1);
    p.c[i] = static_cast<int16_t>(-bit & ((kQ + 1) / 2));
  }
}

void PolyToMessage(const Poly& p, uint8_t* m) {
  std::memset(m, 0, 32);
  for (int i = 0; i < kN; ++i) m[i / 8] |= static_cast<uint8_t>(Compress<1>(Canonical(p.c[i])) << (i % 8));
}

// Centered binomial distribution with η = 2 from 128 PRF bytes: each
// coefficient is (b0 + b1) - (b2 + b3) of four consecutive bits.
void SampleCbd2(const uint8_t* bytes, Poly& p) {
  for (int i = 0; i < kN / 8; ++i) {
    const uint8_t* b = bytes + 4 * i;
    uint32_t t = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
    uint32_t d = (t & 0x55555555) + ((t >> 1) & 0x55555555);
    for (int j = 0; j < 8; ++j) {
      int16_t a = static_cast<int16_t>((d >> (4 * j)) & 3);
      int16_t b = static_cast<int16_t>((d >> (4 * j + 2)) & 3);
      p.c[8 * i + j] = static_cast<int16_t>(a - b);
    }
  }
}

// --- Hashing on OpenSSL ----------------------------------------------------

template <typename T>
T* Required(T* p) {
  if (p == nullptr) std::abort();  // A broken OpenSSL install; nothing to recover.
  return p;
}

void Check(int openssl_result) {
  if (openssl_result != 1) std::abort();  // Only fails on allocation failure.
}

enum class Hash { kSha3With256, kSha3With512, kShake128, kShake256 };

const EVP_MD* Md(Hash hash) {
  static EVP_MD* const mds[] = {
      Required(EVP_MD_fetch(nullptr, "SHA3-256", nullptr)),
      Required(EVP_MD_fetch(nullptr, "SHA3-512", nullptr)),
      Required(EVP_MD_fetch(nullptr, "SHAKE128", nullptr)),
      Required(EVP_MD_fetch(nullptr, "SHAKE256", nullptr)),
  };
  return mds[static_cast<int>(hash)];
}

struct ThreadContext {
  EVP_MD_CTX* md = Required(EVP_MD_CTX_new());
  ~ThreadContext() { EVP_MD_CTX_free(md); }
};

// Hashes the concatenation of `parts` into `out`; SHA3 outputs their fixed
// size (out must match it), SHAKE as many bytes as `out` holds.
void Digest(Hash hash, std::initializer_list<ByteSpan> parts, std::span<uint8_t> out) {
  thread_local ThreadContext context;
  EVP_MD_CTX* ctx = context.md;
  Check(EVP_DigestInit_ex2(ctx, Md(hash), nullptr));
  for (ByteSpan part : parts) Check(EVP_DigestUpdate(ctx, part.data(), part.size()));
  if (hash == Hash::kShake128 || hash == Hash::kShake256) {
    Check(EVP_DigestFinalXOF(ctx, out.data(), out.size()));
  } else {
    Check(EVP_DigestFinal_ex(ctx, out.data(), nullptr));
  }
}

// PRF_η(s, b) = SHAKE256(s ‖ b), 64η bytes, sampled as CBD_η.
void SampleNoise(const uint8_t* seed, uint8_t nonce, Poly& p) {
  std::array<uint8_t, kCbdBytes> bytes;
  Digest(Hash::kShake256, {ByteSpan(seed, 32), ByteSpan(&nonce, 1)}, bytes);
  SampleCbd2(bytes.data(), p);
  Wipe(bytes);
}

// SampleNTT(ρ ‖ x ‖ y): rejection sampling of 12-bit candidates from
// SHAKE128. The matrix is public, so the data-dependent loop is harmless.
// OpenSSL 3.0 squeezes a SHAKE only once, so a stream that runs short is
// recomputed longer (its prefix is the same) and parsing continues.
void SampleNtt(const uint8_t* rho, uint8_t x, uint8_t y, Poly& p) {
  const uint8_t suffix[2] = {x, y};
  // 336 candidates: 81% are accepted, so 256 of them are short about 1% of
  // the time.
  std::array<uint8_t, 3 * kShake128Rate> first;
  Digest(Hash::kShake128, {ByteSpan(rho, 32), ByteSpan(suffix, 2)}, first);
  std::vector<uint8_t> longer;
  const uint8_t* stream = first.data();
  size_t length = first.size();
  size_t position = 0;
  // Candidates are written unconditionally and kept by advancing the count,
  // which spares the branch predictor a coin flip per candidate; the two
  // spare slots take the writes past the last coefficient.
  std::array<int16_t, kN + 2> sampled;
  int count = 0;
  while (true) {
    for (; count < kN && position + 3 <= length; position += 3) {
      const uint8_t* b = stream + position;
      uint16_t d1 = static_cast<uint16_t>(b[0] | ((b[1] & 0x0f) << 8));
      uint16_t d2 = static_cast<uint16_t>((b[1] >> 4) | (b[2] << 4));
      sampled[count] = static_cast<int16_t>(d1);
      count += d1 < kQ;
      sampled[count] = static_cast<int16_t>(d2);
      count += d2 < kQ;
    }
    if (count >= kN) break;
    length *= 2;
    longer.resize(length);
    Digest(Hash::kShake128, {ByteSpan(rho, 32), ByteSpan(suffix, 2)}, longer);
    stream = longer.data();
  }
  std::memcpy(p.c.data(), sampled.data(), sizeof p.c);
}

// Â[i][j] = SampleNTT(ρ ‖ j ‖ i); the transpose swaps the two bytes.
void ExpandMatrix(const uint8_t* rho, bool transposed, Matrix& a) {
  for (int i = 0; i < kK; ++i) {
    for (int j = 0; j < kK; ++j) {
      uint8_t x = static_cast<uint8_t>(transposed ? i : j);
      uint8_t y = static_cast<uint8_t>(transposed ? j : i);
      SampleNtt(rho, x, y, a[i][j]);
    }
  }
}

// --- K-PKE ----------------------------------------------------------------

// K-PKE.KeyGen (FIPS 203 Algorithm 13). ML-KEM hashes d ‖ k, Kyber round 3
// hashes d alone; nothing else differs.
void PkeKeyGen(Variant variant, Seed d, uint8_t* public_key, uint8_t* secret_key) {
  std::array<uint8_t, 33> input;
  std::memcpy(input.data(), d.data(), 32);
  input[32] = kK;
  std::array<uint8_t, 64> rho_sigma;
  Digest(Hash::kSha3With512, {ByteSpan(input.data(), variant == Variant::kMlKem ? 33 : 32)}, rho_sigma);
  const uint8_t* rho = rho_sigma.data();
  const uint8_t* sigma = rho_sigma.data() + 32;

  Matrix a;
  ExpandMatrix(rho, /*transposed=*/false, a);
  PolyVec s, e;
  for (int i = 0; i < kK; ++i) SampleNoise(sigma, static_cast<uint8_t>(i), s[i]);
  for (int i = 0; i < kK; ++i) SampleNoise(sigma, static_cast<uint8_t>(kK + i), e[i]);
  for (int i = 0; i < kK; ++i) {
    Ntt(s[i]);
    Ntt(e[i]);
  }
  MulCache s_cache;
  ComputeMulCache(s, s_cache);
  for (int i = 0; i < kK; ++i) {
    Poly t;
    BaseMulAccumulate(t, a[i], s, s_cache);
    // Back from 2^-16 to the plain product: times 2^32 mod q, Montgomery-reduced.
    for (int16_t& x : t.c) x = FqMul(x, 1353);
    Add(t, e[i]);
    Reduce(t);
    Encode12(t, public_key + i * kPolyBytes);
    Encode12(s[i], secret_key + i * kPolyBytes);
  }
  std::memcpy(public_key + kPolyVecBytes, rho, 32);
  WipeObject(input);
  WipeObject(rho_sigma);
  WipeObject(s);
  WipeObject(s_cache);
  WipeObject(e);
}

// K-PKE.Encrypt (Algorithm 14) of the 32-byte message m with coins r.
void PkeEncrypt(const uint8_t* public_key, const uint8_t* m, const uint8_t* coins, uint8_t* ciphertext) {
  PolyVec t_hat;
  for (int i = 0; i < kK; ++i) Decode12(public_key + i * kPolyBytes, t_hat[i]);
  Matrix a_transposed;
  ExpandMatrix(public_key + kPolyVecBytes, /*transposed=*/true, a_transposed);

  PolyVec y, e1;
  Poly e2;
  for (int i = 0; i < kK; ++i) SampleNoise(coins, static_cast<uint8_t>(i), y[i]);
  for (int i = 0; i < kK; ++i) SampleNoise(coins, static_cast<uint8_t>(kK + i), e1[i]);
  SampleNoise(coins, static_cast<uint8_t>(2 * kK), e2);
  for (Poly& p : y) Ntt(p);
  MulCache y_cache;
  ComputeMulCache(y, y_cache);

  for (int i = 0; i < kK; ++i) {
    Poly u;
    BaseMulAccumulate(u, a_transposed[i], y, y_cache);
    InvNttToMont(u);
    Add(u, e1[i]);
    Reduce(u);
    CompressAndPack<kDu>(u, ciphertext + i * (kN * kDu / 8));
    WipeObject(u);
  }
  Poly v, mu;
  BaseMulAccumulate(v, t_hat, y, y_cache);
  InvNttToMont(v);
  MessageToPoly(m, mu);
  Add(v, e2);
  Add(v, mu);
  Reduce(v);
  CompressAndPack<kDv>(v, ciphertext + kUBytes);
  WipeObject(y);
  WipeObject(y_cache);
  WipeObject(e1);
  WipeObject(e2);
  WipeObject(v);
  WipeObject(mu);
}

// K-PKE.Decrypt (Algorithm 15).
void PkeDecrypt(const uint8_t* secret_key, const uint8_t* ciphertext, uint8_t* m) {
  PolyVec u, s_hat;
  for (int i = 0; i < kK; ++i) {
    UnpackAndDecompress<kDu>(ciphertext + i * (kN * kDu / 8), u[i]);
    Ntt(u[i]);
    Decode12(secret_key + i * kPolyBytes, s_hat[i]);
  }
  MulCache u_cache;
  ComputeMulCache(u, u_cache);
  Poly w, v;
  BaseMulAccumulate(w, s_hat, u, u_cache);
  InvNttToMont(w);
  UnpackAndDecompress<kDv>(ciphertext + kUBytes, v);
  for (int i = 0; i < kN; ++i) w.c[i] = static_cast<int16_t>(v.c[i] - w.c[i]);
  Reduce(w);
  PolyToMessage(w, m);
  WipeObject(s_hat);
  WipeObject(w);
}

// An all-ones byte when the two strings differ, else zero, from the OR of
// their differences; the asm keeps the compiler from turning the mask back
// into a branch.
uint8_t DifferenceMask(const uint8_t* a, const uint8_t* b, size_t size) {
  uint32_t difference = 0;
  for (size_t i = 0; i < size; ++i) difference |= static_cast<uint32_t>(a[i] ^ b[i]);
  uint8_t mask = static_cast<uint8_t>(-((difference | (0u - difference)) >> 31));
  __asm__("" : "+r"(mask));
  return mask;
}

// out = mask ? if_set : out, bytewise.
void Select(uint8_t mask, const uint8_t* if_set, uint8_t* out, size_t size) {
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(out[i] ^ (mask & (out[i] ^ if_set[i])));
}

}  // namespace

void KeyGen(Variant variant, Seed d, Seed z, std::span<uint8_t, kPublicKeySize> public_key,
            std::span<uint8_t, kSecretKeySize> secret_key) {
  PkeKeyGen(variant, d, public_key.data(), secret_key.data());
  uint8_t* rest = secret_key.data() + kPolyVecBytes;
  std::memcpy(rest, public_key.data(), kPublicKeySize);
  HashPublicKey(public_key, std::span<uint8_t, 32>(rest + kPublicKeySize, 32));
  std::memcpy(rest + kPublicKeySize + 32, z.data(), 32);
}

bool PublicKeyIsCanonical(PublicKeyView public_key) {
  uint16_t too_large = 0;
  for (size_t i = 0; i < kK; ++i) {
    std::array<uint16_t, kN> values;
    UnpackBits<12>(public_key.data() + i * kPolyBytes, values);
    for (uint16_t v : values) too_large |= static_cast<uint16_t>(v >= kQ);
  }
  return too_large == 0;
}

bool SecretKeyHashMatches(SecretKeyView secret_key) {
  std::array<uint8_t, 32> hash;
  const uint8_t* public_key = secret_key.data() + kPolyVecBytes;
  HashPublicKey(PublicKeyView(public_key, kPublicKeySize), hash);
  return ConstantTimeEqual(hash, ByteSpan(public_key + kPublicKeySize, 32));
}

void HashPublicKey(PublicKeyView public_key, std::span<uint8_t, 32> out) {
  Digest(Hash::kSha3With256, {public_key}, out);
}

void Encapsulate(Variant variant, PublicKeyView public_key, std::span<const uint8_t, 32> public_key_hash,
                 Seed m, std::span<uint8_t, kCiphertextSize> ciphertext,
                 std::span<uint8_t, kSharedSecretSize> shared_secret) {
  std::array<uint8_t, 32> message;
  if (variant == Variant::kKyberRound3) {
    // Round 3 never sends the raw output of the random number generator.
    Digest(Hash::kSha3With256, {m}, message);
  } else {
    std::memcpy(message.data(), m.data(), 32);
  }
  std::array<uint8_t, 64> key_and_coins;  // (K, r) = G(m ‖ H(ek))
  Digest(Hash::kSha3With512, {message, public_key_hash}, key_and_coins);
  PkeEncrypt(public_key.data(), message.data(), key_and_coins.data() + 32, ciphertext.data());
  if (variant == Variant::kMlKem) {
    std::memcpy(shared_secret.data(), key_and_coins.data(), 32);
  } else {
    std::array<uint8_t, 32> ciphertext_hash;
    Digest(Hash::kSha3With256, {ciphertext}, ciphertext_hash);
    Digest(Hash::kShake256, {ByteSpan(key_and_coins.data(), 32), ciphertext_hash}, shared_secret);
  }
  WipeObject(message);
  WipeObject(key_and_coins);
}

void Decapsulate(Variant variant, SecretKeyView secret_key, CiphertextView ciphertext,
                 std::span<uint8_t, kSharedSecretSize> shared_secret) {
  const uint8_t* pke_secret = secret_key.data();
  const uint8_t* public_key = pke_secret + kPolyVecBytes;
  const uint8_t* public_key_hash = public_key + kPublicKeySize;
  const uint8_t* z = public_key_hash + 32;

  std::array<uint8_t, 32> message;
  PkeDecrypt(pke_secret, ciphertext.data(), message.data());
  std::array<uint8_t, 64> key_and_coins;
  Digest(Hash::kSha3With512, {message, ByteSpan(public_key_hash, 32)}, key_and_coins);
  std::array<uint8_t, kCiphertextSize> reencrypted;
  PkeEncrypt(public_key, message.data(), key_and_coins.data() + 32, reencrypted.data());
  const uint8_t reject = DifferenceMask(ciphertext.data(), reencrypted.data(), kCiphertextSize);

  if (variant == Variant::kMlKem) {
    std::array<uint8_t, 32> rejection_key;  // J(z ‖ c)
    Digest(Hash::kShake256, {ByteSpan(z, 32), ciphertext}, rejection_key);
    std::memcpy(shared_secret.data(), key_and_coins.data(), 32);
    Select(reject, rejection_key.data(), shared_secret.data(), 32);
    WipeObject(rejection_key);
  } else {
    // K̄ or z, then KDF(· ‖ H(c)).
    Select(reject, z, key_and_coins.data(), 32);
    std::array<uint8_t, 32> ciphertext_hash;
    Digest(Hash::kSha3With256, {ciphertext}, ciphertext_hash);
    Digest(Hash::kShake256, {ByteSpan(key_and_coins.data(), 32), ciphertext_hash}, shared_secret);
  }
  WipeObject(message);
  WipeObject(key_and_coins);
  WipeObject(reencrypted);
}

}  // namespace tandem::crypto::internal::mlkem
