/* The spin executor's speculation gate and response buffer (spin_spec.h). */
#include "harness/test.h"

#include "trigger/spin_spec.h"

#include <string.h>

/* Whether the gate lets `name` through; a refusal records why. */
static bool allowed(const char *name)
{
    struct spin_spec sp;
    spin_spec_init(&sp);
    bool ok = spin_spec_allow(&sp, name);
    bool said = strstr(sp.cause, name) != NULL;
    spin_spec_fini(&sp);
    ASSERT_TRUE(ok != said);
    return ok;
}

TEST(spin_spec, the_gate_lets_through_only_calls_that_stay_inside_the_request)
{
    ASSERT_TRUE(allowed("wasi:http/types@0.2.0#[method]fields.append"));
    ASSERT_TRUE(allowed("wasi:http/types@0.2.3#[static]response-outparam.set"));
    ASSERT_TRUE(allowed("wasi:io/streams@0.2.0#[method]output-stream.blocking-write-and-flush"));
    ASSERT_TRUE(allowed("wasi:io/poll@0.2.0#poll"));
    ASSERT_TRUE(allowed("wasi:clocks/monotonic-clock@0.2.0#subscribe-duration"));
    ASSERT_TRUE(allowed("wasi:random/random@0.2.0#get-random-bytes"));
    ASSERT_TRUE(allowed("wasi:cli/environment@0.2.0#get-environment"));
    ASSERT_TRUE(allowed("wasi:cli/stdout@0.2.0#get-stdout"));
    ASSERT_TRUE(allowed("wasi:filesystem/preopens@0.2.0#get-directories"));

    ASSERT_FALSE(allowed("wasi:http/outgoing-handler@0.2.0#handle"));
    ASSERT_FALSE(allowed("wasi:filesystem/types@0.2.0#[method]descriptor.open-at"));
    ASSERT_FALSE(allowed("wasi:filesystem/preopens@0.2.0#get-something-else"));
    ASSERT_FALSE(allowed("wasi:sockets/tcp-create-socket@0.2.0#create-tcp-socket"));
    ASSERT_FALSE(allowed("wasi:sockets/instance-network@0.2.0#instance-network"));
    /* Names are matched whole, not by prefix. */
    ASSERT_FALSE(allowed("wasi:http/typesx@0.2.0#[method]fields.append"));
    ASSERT_FALSE(allowed("wasi:io/streams"));
    ASSERT_FALSE(allowed("log"));
    ASSERT_FALSE(allowed(""));
}

TEST(spin_spec, the_response_is_held_up_to_128_kib_and_the_first_reason_is_kept)
{
    struct spin_spec sp;
    spin_spec_init(&sp);
    const struct wasihttp_header h[] = {{"content-type", "text/plain"}, {"x-a", ""}};
    ASSERT_OK(spin_spec_respond(&sp, 201, h, 2, -1));
    ASSERT_TRUE(sp.started);
    ASSERT_EQ_UINT(sp.nheaders, 2);
    static uint8_t chunk[4096];
    for (size_t sent = 0; sent < SPIN_SPEC_MAX_OUTPUT; sent += sizeof chunk)
        ASSERT_OK(spin_spec_write(&sp, chunk, sizeof chunk));
    ASSERT_EQ_STR(sp.cause, "");
    ASSERT_EQ_INT(spin_spec_write(&sp, chunk, 1), SPRY_EINTERRUPTED);
    ASSERT_TRUE(strstr(sp.cause, "larger than 131072 bytes") != NULL);
    ASSERT_EQ_INT(spin_spec_on_block(&sp), SPRY_EINTERRUPTED);
    ASSERT_TRUE(strstr(sp.cause, "larger than") != NULL); /* the first reason stays */
    spin_spec_fini(&sp);

    spin_spec_init(&sp);
    ASSERT_EQ_INT(spin_spec_on_block(&sp), SPRY_EINTERRUPTED);
    ASSERT_EQ_STR(sp.cause, "it would wait (wasi:io/poll)");
    spin_spec_fini(&sp);
}
