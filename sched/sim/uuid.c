/*
 * uuid.c: domain uuids for the simulated host.
 *
 * A scenario may give a domain's uuid; otherwise it is the RFC 4122 name-
 * based (version 5, SHA-1) uuid of the domain's name in the xenos
 * simulator namespace, so the same name always has the same uuid, in every
 * run and every scenario, and anyone can recompute it:
 *
 *     python3 -c 'import uuid; ns = uuid.uuid5(uuid.NAMESPACE_DNS,
 *                 "sim.xenos"); print(uuid.uuid5(ns, "web"))'
 *
 * SHA-1 is here only to name things (as RFC 4122 uses it), not for any
 * security property.
 */
#include <errno.h>
#include <string.h>

#include <xenos/hex.h>
#include <xenos/sim.h>

/* uuid5(NAMESPACE_DNS, "sim.xenos") = 7feae2d2-eee8-5d1f-be1c-486ff9c843a5 */
static const uint8_t sim_uuid_ns[16] = {
    0x7f, 0xea, 0xe2, 0xd2, 0xee, 0xe8, 0x5d, 0x1f,
    0xbe, 0x1c, 0x48, 0x6f, 0xf9, 0xc8, 0x43, 0xa5,
};

struct sha1 {
    uint32_t h[5];
    uint8_t block[64];
    size_t fill;                /* bytes in block */
    uint64_t len;               /* bytes hashed so far */
};

static uint32_t rol32(uint32_t x, unsigned int n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha1_block(struct sha1 *c)
{
    uint32_t w[80], a, b, cc, d, e, f, k, t;
    unsigned int i;

    for ( i = 0; i < 16; i++ )
        w[i] = (uint32_t)c->block[4 * i] << 24 |
               (uint32_t)c->block[4 * i + 1] << 16 |
               (uint32_t)c->block[4 * i + 2] << 8 | c->block[4 * i + 3];
    for ( ; i < 80; i++ )
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    a = c->h[0];
    b = c->h[1];
    cc = c->h[2];
    d = c->h[3];
    e = c->h[4];
    for ( i = 0; i < 80; i++ )
    {
        if ( i < 20 )
        {
            f = (b & cc) | (~b & d);
            k = 0x5a827999;
        }
        else if ( i < 40 )
        {
            f = b ^ cc ^ d;
            k = 0x6ed9eba1;
        }
        else if ( i < 60 )
        {
            f = (b & cc) | (b & d) | (cc & d);
            k = 0x8f1bbcdc;
        }
        else
        {
            f = b ^ cc ^ d;
            k = 0xca62c1d6;
        }
        t = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = cc;
        cc = rol32(b, 30);
        b = a;
        a = t;
    }
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
}

static void sha1_init(struct sha1 *c)
{
    static const uint32_t h0[5] = {
        0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0,
    };

    memcpy(c->h, h0, sizeof(h0));
    c->fill = 0;
    c->len = 0;
}

static void sha1_update(struct sha1 *c, const void *data, size_t len)
{
    const uint8_t *p = data;

    c->len += len;
    while ( len-- )
    {
        c->block[c->fill++] = *p++;
        if ( c->fill == 64 )
        {
            sha1_block(c);
            c->fill = 0;
        }
    }
}

static void sha1_final(struct sha1 *c, uint8_t out[20])
{
    uint64_t bits = c->len * 8;
    uint8_t pad = 0x80;
    unsigned int i;

    sha1_update(c, &pad, 1);
    pad = 0;
    while ( c->fill != 56 )
        sha1_update(c, &pad, 1);
    for ( i = 0; i < 8; i++ )
        c->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha1_block(c);
    for ( i = 0; i < 20; i++ )
        out[i] = (uint8_t)(c->h[i / 4] >> (24 - 8 * (i % 4)));
}

void sim_uuid_from_name(const char *name, char out[SIM_UUID_LEN + 1])
{
    struct sha1 c;
    uint8_t h[20];

    sha1_init(&c);
    sha1_update(&c, sim_uuid_ns, sizeof(sim_uuid_ns));
    sha1_update(&c, name, strlen(name));
    sha1_final(&c, h);
    h[6] = (uint8_t)((h[6] & 0x0f) | 0x50);     /* version 5 */
    h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);     /* RFC 4122 variant */
    hex_uuid(h, out);
}

int sim_uuid_parse(const char *s, char out[SIM_UUID_LEN + 1])
{
    return hex_uuid_parse(s, out);
}
