// Radix-2^51 arithmetic mod 2^255 - 19; see field25519.h.
#include "crypto/internal/field25519.h"

#include <cstring>

namespace tandem::crypto::internal {
namespace {

using u128 = unsigned __int128;
constexpr uint64_t kMask51 = (uint64_t{1} << 51) - 1;

struct Fe {
  uint64_t v[5];
};

uint64_t Load64(const uint8_t* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);  // little-endian host (x86-64, aarch64)
  return x;
}

Fe FromBytes(const std::array<uint8_t, 32>& b) {
  uint64_t w0 = Load64(b.data()), w1 = Load64(b.data() + 8), w2 = Load64(b.data() + 16),
           w3 = Load64(b.data() + 24);
  Fe f;
  f.v[0] = w0 & kMask51;
  f.v[1] = ((w0 >> 51) | (w1 << 13)) & kMask51;
  f.v[2] = ((w1 >> 38) | (w2 << 26)) & kMask51;
  f.v[3] = ((w2 >> 25) | (w3 << 39)) & kMask51;
  f.v[4] = (w3 >> 12) & kMask51;
  return f;
}

void Carry(Fe& f) {
  for (int i = 0; i < 4; ++i) {
    f.v[i + 1] += f.v[i] >> 51;
    f.v[i] &= kMask51;
  }
  f.v[0] += 19 * (f.v[4] >> 51);
  f.v[4] &= kMask51;
  f.v[1] += f.v[0] >> 51;
  f.v[0] &= kMask51;
}

std::array<uint8_t, 32> ToBytes(Fe f) {
  // Carry until every limb is below 2^51, i.e. f < 2^255; then f < 2p.
  while ((f.v[0] | f.v[1] | f.v[2] | f.v[3] | f.v[4]) >> 51) Carry(f);
  // Subtract p if f >= p: q = 1 exactly when f + 19 overflows 2^255.
  uint64_t q = (f.v[0] + 19) >> 51;
  for (int i = 1; i < 5; ++i) q = (f.v[i] + q) >> 51;
  f.v[0] += 19 * q;
  for (int i = 0; i < 4; ++i) {
    f.v[i + 1] += f.v[i] >> 51;
    f.v[i] &= kMask51;
  }
  f.v[4] &= kMask51;
  uint64_t w[4] = {
      f.v[0] | (f.v[1] << 51),
      (f.v[1] >> 13) | (f.v[2] << 38),
      (f.v[2] >> 26) | (f.v[3] << 25),
      (f.v[3] >> 39) | (f.v[4] << 12),
  };
  std::array<uint8_t, 32> out;
  std::memcpy(out.data(), w, 32);
  return out;
}

Fe Add(const Fe& a, const Fe& b) {
  Fe r;
  for (int i = 0; i < 5; ++i) r.v[i] = a.v[i] + b.v[i];
  Carry(r);
  return r;
}

// a - b for carried inputs (limbs < 2^52): adds 4p first so nothing underflows.
Fe Sub(const Fe& a, const Fe& b) {
  static constexpr uint64_t kFourP[5] = {0x1FFFFFFFFFFFB4, 0x1FFFFFFFFFFFFC, 0x1FFFFFFFFFFFFC,
                                         0x1FFFFFFFFFFFFC, 0x1FFFFFFFFFFFFC};
  Fe r;
  for (int i = 0; i < 5; ++i) r.v[i] = a.v[i] + kFourP[i] - b.v[i];
  Carry(r);
  return r;
}

Fe Mul(const Fe& a, const Fe& b) {
  const uint64_t* x = a.v;
  const uint64_t* y = b.v;
  uint64_t y1_19 = 19 * y[1], y2_19 = 19 * y[2], y3_19 = 19 * y[3], y4_19 = 19 * y[4];
  u128 r0 =
      (u128)x[0] * y[0] + (u128)x[1] * y4_19 + (u128)x[2] * y3_19 + (u128)x[3] * y2_19 + (u128)x[4] * y1_19;
  u128 r1 =
      (u128)x[0] * y[1] + (u128)x[1] * y[0] + (u128)x[2] * y4_19 + (u128)x[3] * y3_19 + (u128)x[4] * y2_19;
  u128 r2 =
      (u128)x[0] * y[2] + (u128)x[1] * y[1] + (u128)x[2] * y[0] + (u128)x[3] * y4_19 + (u128)x[4] * y3_19;
  u128 r3 =
      (u128)x[0] * y[3] + (u128)x[1] * y[2] + (u128)x[2] * y[1] + (u128)x[3] * y[0] + (u128)x[4] * y4_19;
  u128 r4 = (u128)x[0] * y[4] + (u128)x[1] * y[3] + (u128)x[2] * y[2] + (u128)x[3] * y[1] + (u128)x[4] * y[0];
  r1 += (uint64_t)(r0 >> 51);
  r2 += (uint64_t)(r1 >> 51);
  r3 += (uint64_t)(r2 >> 51);
  r4 += (uint64_t)(r3 >> 51);
  Fe r;
  r.v[0] = (uint64_t)r0 & kMask51;
  r.v[1] = (uint64_t)r1 & kMask51;
  r.v[2] = (uint64_t)r2 & kMask51;
  r.v[3] = (uint64_t)r3 & kMask51;
  r.v[4] = (uint64_t)r4 & kMask51;
  r.v[0] += 19 * (uint64_t)(r4 >> 51);
  r.v[1] += r.v[0] >> 51;
  r.v[0] &= kMask51;
  return r;
}

Fe SquareTimes(Fe a, int n) {
  for (int i = 0; i < n; ++i) a = Mul(a, a);
  return a;
}

// z^(p-2) with the usual addition chain for 2^255 - 21.
Fe Invert(const Fe& z) {
  Fe z2 = Mul(z, z);
  Fe z9 = Mul(SquareTimes(z2, 2), z);
  Fe z11 = Mul(z9, z2);
  Fe z_5_0 = Mul(Mul(z11, z11), z9);  // z^(2^5 - 1)
  Fe z_10_0 = Mul(SquareTimes(z_5_0, 5), z_5_0);
  Fe z_20_0 = Mul(SquareTimes(z_10_0, 10), z_10_0);
  Fe z_40_0 = Mul(SquareTimes(z_20_0, 20), z_20_0);
  Fe z_50_0 = Mul(SquareTimes(z_40_0, 10), z_10_0);
  Fe z_100_0 = Mul(SquareTimes(z_50_0, 50), z_50_0);
  Fe z_200_0 = Mul(SquareTimes(z_100_0, 100), z_100_0);
  Fe z_250_0 = Mul(SquareTimes(z_200_0, 50), z_50_0);
  return Mul(SquareTimes(z_250_0, 5), z11);
}

}  // namespace

std::array<uint8_t, 32> EdwardsYToMontgomeryU(const std::array<uint8_t, 32>& y) {
  std::array<uint8_t, 32> masked = y;
  masked[31] &= 0x7F;
  Fe one{{1, 0, 0, 0, 0}};
  Fe fy = FromBytes(masked);
  return ToBytes(Mul(Add(one, fy), Invert(Sub(one, fy))));
}

bool IsCanonicalFieldElement(const std::array<uint8_t, 32>& bytes) {
  if (bytes[31] & 0x80) return false;
  return ToBytes(FromBytes(bytes)) == bytes;
}

std::array<uint8_t, 32> MontgomeryUToEdwardsY(const std::array<uint8_t, 32>& u) {
  Fe one{{1, 0, 0, 0, 0}};
  Fe fu = FromBytes(u);
  Fe y = Mul(Sub(fu, one), Invert(Add(fu, one)));
  return ToBytes(y);
}

}  // namespace tandem::crypto::internal
