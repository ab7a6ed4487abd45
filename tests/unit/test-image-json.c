/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "image.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

Test(digest_parse, accepts_sha256_only) {
        char hex[SHA256_HEX_LEN + 1];

        cr_assert(eq(int, digest_parse("sha256:" H64, hex), 0));
        cr_assert(eq(str, hex, H64));
        cr_assert(eq(int, digest_parse("sha512:abcd", hex), -EOPNOTSUPP));
        cr_assert(eq(int, digest_parse("sha256:" "ABCDEF", hex), -EINVAL));
        cr_assert(eq(int, digest_parse("sha256:" H64 "00", hex), -EINVAL));
        cr_assert(eq(int, digest_parse(H64, hex), -EINVAL));
        cr_assert(eq(int, digest_parse(NULL, hex), -EINVAL));
}

static const char index_json[] =
        "{\"schemaVersion\":2,\"manifests\":["
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" H64 "\",\"size\":10,"
        " \"annotations\":{\"org.opencontainers.image.ref.name\":\"base\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" H64 "\",\"size\":11,"
        " \"platform\":{\"os\":\"linux\",\"architecture\":\"s390x\"},"
        " \"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" H64 "\",\"size\":12,"
        " \"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"},"
        " \"annotations\":{\"org.opencontainers.image.ref.name\":\"docker.io/library/x:latest\"}}]}";

Test(oci_index, picks_by_ref_and_platform) {
        static const Platform amd64 = { "linux", "amd64", NULL };
        OciDescriptor *d = NULL;
        char *error = NULL;
        size_t n, k;

        cr_assert(eq(int, oci_index_parse(index_json, strlen(index_json), &d, &n, &error), 0));
        cr_assert(eq(sz, n, 3));
        cr_assert(eq(int, oci_index_pick(d, n, "base", &amd64, &k, &error), 0));
        cr_assert(eq(sz, k, 0));
        /* "latest" matches the tag and the full name; the platform decides */
        cr_assert(eq(int, oci_index_pick(d, n, "", &amd64, &k, &error), 0));
        cr_assert(eq(sz, k, 2));
        cr_assert(eq(int, oci_index_pick(d, n, "nope", &amd64, &k, &error), -ENOENT));
        cr_assert(strstr(error, "'nope'") != NULL);
        free(error);
        error = NULL;
        static const Platform arm = { "linux", "arm64", "v8" };
        cr_assert(eq(int, oci_index_pick(d, n, "latest", &arm, &k, &error), -ENOENT));
        cr_assert(strstr(error, "platform linux/arm64") != NULL, "%s", error);
        free(error);
        oci_descriptors_free(d, n);
}

#define BAD_ALG "{\"manifests\":[{\"digest\":\"md5:x\",\"size\":1}]}"
#define NO_SIZE "{\"manifests\":[{\"digest\":\"sha256:" H64 "\"}]}"

Test(oci_index, rejects_malformed_json) {
        OciDescriptor *d = NULL;
        char *error = NULL;
        size_t n;

        cr_assert(eq(int, oci_index_parse("{\"manifests\":[", 14, &d, &n, &error), -EBADMSG));
        cr_assert(strstr(error, "malformed JSON") != NULL);
        free(error);
        error = NULL;
        cr_assert(eq(int, oci_index_parse(BAD_ALG, strlen(BAD_ALG), &d, &n, &error),
                     -EOPNOTSUPP));
        free(error);
        error = NULL;
        cr_assert(eq(int, oci_index_parse(NO_SIZE, strlen(NO_SIZE), &d, &n, &error), -EBADMSG));
        cr_assert(strstr(error, "size") != NULL, "%s", error);
        free(error);
}

Test(image_config, reads_the_defaults) {
        static const char cfg[] =
                "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05.5Z\","
                "\"config\":{\"Entrypoint\":[\"/bin/sh\"],\"Cmd\":[\"-c\",\"echo\"],\"Env\":[\"A=1\"],"
                "\"WorkingDir\":\"/w\",\"User\":\"1:2\",\"StopSignal\":\"SIGQUIT\",\"Labels\":{\"k\":\"v\"},"
                "\"ExposedPorts\":{\"80/tcp\":{}}},"
                "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" H64 "\"]}}";
        ImageConfig c = {};
        char *error = NULL;

        cr_assert(eq(int, image_config_parse(cfg, strlen(cfg), &c, &error), 0), "%s", error);
        cr_assert(eq(str, c.entrypoint[0], "/bin/sh"));
        cr_assert(eq(str, c.cmd[1], "echo"));
        cr_assert(eq(str, c.env[0], "A=1"));
        cr_assert(eq(str, c.working_dir, "/w"));
        cr_assert(eq(str, c.user, "1:2"));
        cr_assert(eq(str, c.stop_signal, "SIGQUIT"));
        cr_assert(eq(str, c.labels[0], "k=v"));
        cr_assert(eq(str, c.exposed_ports[0], "80/tcp"));
        cr_assert(eq(str, c.diff_ids[0], H64));
        cr_assert(eq(u64, c.created_usec, 1704164645500000ULL));
        image_config_done(&c);
}

Test(image_config, requires_diff_ids) {
        ImageConfig c = {};
        char *error = NULL;

        cr_assert(eq(int, image_config_parse("{\"config\":{}}", 13, &c, &error), -EBADMSG));
        cr_assert(strstr(error, "diff_ids") != NULL);
        free(error);
}

Test(docker_manifest, picks_by_tag) {
        static const char m[] = "[{\"Config\":\"c.json\",\"RepoTags\":[\"a/b:v1\"],\"Layers\":[\"l.tar\"]},"
                                "{\"Config\":\"d.json\",\"RepoTags\":[\"a/b:latest\"],\"Layers\":[\"l.tar\"]}]";
        DockerManifestEntry *e = NULL;
        char *error = NULL;
        size_t n, k;

        cr_assert(eq(int, docker_manifest_parse(m, strlen(m), &e, &n, &error), 0));
        cr_assert(eq(int, docker_manifest_pick(e, n, "v1", &k, &error), 0));
        cr_assert(eq(sz, k, 0));
        cr_assert(eq(int, docker_manifest_pick(e, n, "", &k, &error), 0));
        cr_assert(eq(sz, k, 1));
        cr_assert(eq(int, docker_manifest_pick(e, n, "v2", &k, &error), -ENOENT));
        free(error);
        docker_manifest_free(e, n);
}

Test(platform, matches_variants_loosely) {
        static const Platform arm64 = { "linux", "arm64", "v8" };
        cr_assert(platform_matches(&arm64, "linux", "arm64", NULL));
        cr_assert(platform_matches(&arm64, "linux", "arm64", "v8"));
        cr_assert(platform_matches(&arm64, "linux", "arm64", "v9") == false);
        cr_assert(platform_matches(&arm64, "linux", "amd64", NULL) == false);
        cr_assert(platform_matches(&arm64, "windows", "arm64", NULL) == false);
        cr_assert(platform_matches(&arm64, NULL, NULL, NULL));
}

Test(rfc3339, parses_offsets) {
        uint64_t u;
        cr_assert(eq(int, parse_rfc3339("1970-01-01T01:00:00+01:00", &u), 0));
        cr_assert(eq(u64, u, 0));
        cr_assert(eq(int, parse_rfc3339("2024-01-02 03:04:05", &u), -EINVAL));
}

Test(rfc3339, takes_only_whole_offsets) {
        static const char *const bad[] = {
                "2024-03-01T10:34:56+02:0", /* was read past its end (tests/fuzz) */
                "2024-03-01T10:34:56+2:00", "2024-03-01T10:34:56+02-00", "2024-03-01T10:34:56+0200",
                "2024-03-01T10:34:56+24:00", "2024-03-01T10:34:56+02:60", "2024-03-01T10:34:56+02:00x",
                "2024-03-01T10:34:56+ 2:00", "2024-03-01T10:34:56-",
        };
        uint64_t u;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert(eq(int, parse_rfc3339(bad[i], &u), -EINVAL), "%s", bad[i]);
        cr_assert(eq(int, parse_rfc3339("1970-01-01T00:00:00-00:30", &u), 0));
        cr_assert(eq(u64, u, 1800ULL * 1000000));
}
