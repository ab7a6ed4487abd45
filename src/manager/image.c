/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bus-util.h"
#include "container.h"
#include "fd-util.h"
#include "export.h"
#include "image.h"
#include "log.h"
#include "name-util.h"
#include "operation.h"
#include "parse-util.h"
#include "string-util.h"

#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MEDIA_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
#define ANNOTATION_CONTAINERD_NAME "io.containerd.image.name"

static void closedirp_(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static bool dot_or_dot_dot(const char *s) {
        return streq(s, ".") || streq(s, "..");
}

static int set_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (ret_error && !*ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

/* ---- pure parsing ------------------------------------------------------------------------------ */

int digest_parse(const char *s, char ret_hex[SHA256_HEX_LEN + 1]) {
        const char *h;

        if (!s)
                return -EINVAL;
        h = startswith_ptr(s, "sha256:");
        if (!h)
                return strchr(s, ':') ? -EOPNOTSUPP : -EINVAL;
        if (strlen(h) != SHA256_HEX_LEN || strspn(h, "0123456789abcdef") != SHA256_HEX_LEN)
                return -EINVAL;
        memcpy(ret_hex, h, SHA256_HEX_LEN + 1);
        return 0;
}

void oci_descriptor_done(OciDescriptor *d) {
        free(d->media_type);
        free(d->ref_name);
        free(d->os);
        free(d->architecture);
        free(d->variant);
        *d = (OciDescriptor) {};
}

void oci_descriptors_free(OciDescriptor *d, size_t n) {
        for (size_t i = 0; d && i < n; i++)
                oci_descriptor_done(d + i);
        free(d);
}

static const char *json_get_string(json_object *o, const char *key) {
        json_object *e;

        if (!o || !json_object_object_get_ex(o, key, &e) || !json_object_is_type(e, json_type_string))
                return NULL;
        return json_object_get_string(e);
}

static int strdup_or_null(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int oci_descriptor_from_json(json_object *o, OciDescriptor *ret, char **ret_error) {
        OciDescriptor d = {};
        const char *digest, *mt;
        json_object *e, *p;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return set_error(ret_error, -EBADMSG, "descriptor is not a JSON object");
        digest = json_get_string(o, "digest");
        r = digest_parse(digest, d.hex);
        if (r == -EOPNOTSUPP)
                return set_error(ret_error, r, "unsupported digest algorithm in '%s'", digest);
        if (r < 0)
                return set_error(ret_error, -EBADMSG, "descriptor has an invalid digest '%s'", strempty(digest));
        if (!json_object_object_get_ex(o, "size", &e) || !json_object_is_type(e, json_type_int) ||
            json_object_get_int64(e) < 0)
                return set_error(ret_error, -EBADMSG, "descriptor sha256:%s has no valid size", d.hex);
        d.size = (uint64_t) json_object_get_int64(e);
        mt = json_get_string(o, "mediaType");

        r = strdup_or_null(mt, &d.media_type);
        if (r >= 0 && json_object_object_get_ex(o, "annotations", &e))
                r = strdup_or_null(json_get_string(e, ANNOTATION_REF_NAME), &d.ref_name);
        if (r >= 0 && json_object_object_get_ex(o, "platform", &p)) {
                r = strdup_or_null(json_get_string(p, "os"), &d.os);
                if (r >= 0)
                        r = strdup_or_null(json_get_string(p, "architecture"), &d.architecture);
                if (r >= 0)
                        r = strdup_or_null(json_get_string(p, "variant"), &d.variant);
        }
        if (r < 0) {
                oci_descriptor_done(&d);
                return r;
        }
        *ret = d;
        return 0;
}

static int parse_json(const char *text, size_t size, const char *what, json_object **ret, char **ret_error) {
        json_tokener *tok;
        json_object *o;

        if (size > IMAGE_JSON_MAX)
                return set_error(ret_error, -EFBIG, "%s is too large (%zu bytes)", what, size);
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, text, (int) size);
        if (!o || json_tokener_get_error(tok) != json_tokener_success) {
                int r = set_error(ret_error, -EBADMSG, "%s is malformed JSON: %s", what,
                                  json_tokener_error_desc(json_tokener_get_error(tok)));
                json_tokener_free(tok);
                json_object_put(o);
                return r;
        }
        json_tokener_free(tok);
        if (!json_object_is_type(o, json_type_object) && !json_object_is_type(o, json_type_array)) {
                json_object_put(o);
                return set_error(ret_error, -EBADMSG, "%s is not a JSON object", what);
        }
        *ret = o;
        return 0;
}

static int descriptors_from_array(json_object *a, const char *what, OciDescriptor **ret, size_t *ret_n,
                                  char **ret_error) {
        OciDescriptor *d;
        size_t n;
        int r;

        if (!a || !json_object_is_type(a, json_type_array))
                return set_error(ret_error, -EBADMSG, "%s has no array", what);
        n = json_object_array_length(a);
        if (n > 1024)
                return set_error(ret_error, -E2BIG, "%s lists %zu descriptors, too many", what, n);
        d = calloc(n ?: 1, sizeof(OciDescriptor));
        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *err = NULL;

                r = oci_descriptor_from_json(json_object_array_get_idx(a, i), d + i, &err);
                if (r < 0) {
                        oci_descriptors_free(d, n);
                        return set_error(ret_error, r, "%s, entry %zu: %s", what, i, strempty(err));
                }
        }
        *ret = d;
        *ret_n = n;
        return 0;
}

int oci_index_parse(const char *text, size_t size, OciDescriptor **ret, size_t *ret_n, char **ret_error) {
        _cleanup_json_ json_object *o = NULL;
        json_object *a = NULL;
        int r;

        r = parse_json(text, size, "index", &o, ret_error);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "manifests", &a))
                return set_error(ret_error, -EBADMSG, "index has no \"manifests\"");
        return descriptors_from_array(a, "index \"manifests\"", ret, ret_n, ret_error);
}

int oci_manifest_parse(const char *text, size_t size, OciDescriptor *ret_config, OciDescriptor **ret_layers,
                       size_t *ret_n, char **ret_error) {
        _cleanup_json_ json_object *o = NULL;
        json_object *c = NULL, *l = NULL;
        OciDescriptor config = {};
        _cleanup_free_ char *err = NULL;
        int r;

        r = parse_json(text, size, "manifest", &o, ret_error);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "config", &c))
                return set_error(ret_error, -EBADMSG, "manifest has no \"config\"");
        r = oci_descriptor_from_json(c, &config, &err);
        if (r < 0)
                return set_error(ret_error, r, "manifest \"config\": %s", strempty(err));
        if (!json_object_object_get_ex(o, "layers", &l)) {
                oci_descriptor_done(&config);
                return set_error(ret_error, -EBADMSG, "manifest has no \"layers\"");
        }
        r = descriptors_from_array(l, "manifest \"layers\"", ret_layers, ret_n, ret_error);
        if (r < 0) {
                oci_descriptor_done(&config);
                return r;
        }
        *ret_config = config;
        return 0;
}

int parse_rfc3339(const char *s, uint64_t *ret) {
        struct tm tm = {};
        const char *p;
        uint64_t frac = 0, scale = USEC_PER_SEC;
        long off = 0;
        time_t t;

        if (isempty(s))
                return -EINVAL;
        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.') {
                for (p++; *p >= '0' && *p <= '9'; p++)
                        if (scale > 1) {
                                scale /= 10;
                                frac += (uint64_t) (*p - '0') * scale;
                        }
        }
        if (*p == 'Z' || *p == 'z')
                p++;
        else if (*p == '+' || *p == '-') {
                /* exactly "+HH:MM" (not sscanf's "%2d", which also takes "+2:0" and " 2:-1" and would
                 * leave p past the end of a shorter string) */
                for (unsigned i = 1; i <= 5; i++)
                        if (i == 3 ? p[i] != ':' : !(p[i] >= '0' && p[i] <= '9'))
                                return -EINVAL;
                int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
                if (hh > 23 || mm > 59)
                        return -EINVAL;
                off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
                p += 6;
        } else
                return -EINVAL;
        if (*p)
                return -EINVAL;
        t = timegm(&tm);
        if (t < 0)
                return -ERANGE;
        *ret = (uint64_t) (t - off) * USEC_PER_SEC + frac;
        return 0;
}

static int strv_from_json_array(json_object *a, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        *ret = NULL;
        if (!a || json_object_is_type(a, json_type_null))
                return 0;
        if (!json_object_is_type(a, json_type_array))
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_string))
                        return -EBADMSG;
                if (strv_extend(&l, json_object_get_string(e)) < 0)
                        return -ENOMEM;
        }
        if (!l) {
                /* an empty array is not "unset": Entrypoint [] means "none" */
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

void image_config_done(ImageConfig *c) {
        free(c->os);
        free(c->architecture);
        free(c->variant);
        strv_free(c->entrypoint);
        strv_free(c->cmd);
        strv_free(c->env);
        free(c->working_dir);
        free(c->user);
        free(c->stop_signal);
        strv_free(c->labels);
        strv_free(c->exposed_ports);
        strv_free(c->diff_ids);
        *c = (ImageConfig) {};
}

int image_config_from_json(json_object *o, ImageConfig *ret, char **ret_error) {
        ImageConfig c = {};
        json_object *cfg = NULL, *rootfs = NULL, *e;
        const char *s;
        int r = 0;

        if (!json_object_is_type(o, json_type_object))
                return set_error(ret_error, -EBADMSG, "config is not a JSON object");

        if ((r = strdup_or_null(json_get_string(o, "os"), &c.os)) < 0 ||
            (r = strdup_or_null(json_get_string(o, "architecture"), &c.architecture)) < 0 ||
            (r = strdup_or_null(json_get_string(o, "variant"), &c.variant)) < 0)
                goto fail;
        s = json_get_string(o, "created");
        if (s && parse_rfc3339(s, &c.created_usec) < 0)
                c.created_usec = 0; /* informational only */

        if (json_object_object_get_ex(o, "config", &cfg) && json_object_is_type(cfg, json_type_object)) {
                static const struct {
                        const char *key;
                        size_t offset;
                } arrays[] = {
                        { "Entrypoint", offsetof(ImageConfig, entrypoint) },
                        { "Cmd", offsetof(ImageConfig, cmd) },
                        { "Env", offsetof(ImageConfig, env) },
                };
                for (size_t i = 0; i < ELEMENTSOF(arrays); i++) {
                        char ***p = (char ***) ((uint8_t *) &c + arrays[i].offset);
                        if (!json_object_object_get_ex(cfg, arrays[i].key, &e))
                                continue;
                        r = strv_from_json_array(e, p);
                        if (r == -EBADMSG) {
                                r = set_error(ret_error, r, "config \"%s\" is not an array of strings", arrays[i].key);
                                goto fail;
                        }
                        if (r < 0)
                                goto fail;
                }
                if ((r = strdup_or_null(json_get_string(cfg, "WorkingDir"), &c.working_dir)) < 0 ||
                    (r = strdup_or_null(json_get_string(cfg, "User"), &c.user)) < 0 ||
                    (r = strdup_or_null(json_get_string(cfg, "StopSignal"), &c.stop_signal)) < 0)
                        goto fail;
                if (json_object_object_get_ex(cfg, "Labels", &e) && json_object_is_type(e, json_type_object)) {
                        json_object_object_foreach(e, k, v) {
                                _cleanup_free_ char *kv = NULL;
                                if (!json_object_is_type(v, json_type_string))
                                        continue;
                                kv = strjoin(k, "=", json_object_get_string(v));
                                if (!kv || strv_consume(&c.labels, TAKE_PTR(kv)) < 0) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                        }
                }
                if (json_object_object_get_ex(cfg, "ExposedPorts", &e) && json_object_is_type(e, json_type_object)) {
                        json_object_object_foreach(e, k, v) {
                                (void) v;
                                if (strv_extend(&c.exposed_ports, k) < 0) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                        }
                }
        }

        if (!json_object_object_get_ex(o, "rootfs", &rootfs) || !json_object_is_type(rootfs, json_type_object) ||
            !json_object_object_get_ex(rootfs, "diff_ids", &e) || !json_object_is_type(e, json_type_array)) {
                r = set_error(ret_error, -EBADMSG, "config has no \"rootfs\".\"diff_ids\"");
                goto fail;
        }
        if (json_object_array_length(e) > IMAGE_LAYERS_MAX) {
                r = set_error(ret_error, -E2BIG, "config lists %zu layers, more than %u", json_object_array_length(e),
                              IMAGE_LAYERS_MAX);
                goto fail;
        }
        for (size_t i = 0; i < json_object_array_length(e); i++) {
                json_object *d = json_object_array_get_idx(e, i);
                char hex[SHA256_HEX_LEN + 1];

                if (!json_object_is_type(d, json_type_string) || digest_parse(json_object_get_string(d), hex) < 0) {
                        r = set_error(ret_error, -EBADMSG, "config \"rootfs\".\"diff_ids\"[%zu] is not a sha256 digest", i);
                        goto fail;
                }
                if (strv_extend(&c.diff_ids, hex) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        *ret = c;
        return 0;
fail:
        image_config_done(&c);
        return r;
}

int image_config_parse(const char *text, size_t size, ImageConfig *ret, char **ret_error) {
        _cleanup_json_ json_object *o = NULL;
        int r;

        r = parse_json(text, size, "config", &o, ret_error);
        if (r < 0)
                return r;
        return image_config_from_json(o, ret, ret_error);
}

const Platform *platform_native(void) {
        static const Platform p = {
                .os = "linux",
#if defined(__x86_64__)
                .architecture = "amd64",
#elif defined(__aarch64__)
                .architecture = "arm64",
                .variant = "v8",
#elif defined(__i386__)
                .architecture = "386",
#elif defined(__arm__)
                .architecture = "arm",
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                .architecture = "ppc64le",
#elif defined(__s390x__)
                .architecture = "s390x",
#elif defined(__riscv) && __riscv_xlen == 64
                .architecture = "riscv64",
#else
                .architecture = "unknown",
#endif
        };
        return &p;
}

bool platform_matches(const Platform *want, const char *os, const char *architecture, const char *variant) {
        if (!os && !architecture)
                return true; /* no platform given: any */
        if (!streq_ptr(os, want->os) || !streq_ptr(architecture, want->architecture))
                return false;
        /* a variant given on both sides must agree; arm64 "v8" is the only arm64 there is */
        if (variant && want->variant && !streq(variant, want->variant))
                return false;
        return true;
}

static bool ref_matches(const char *ref_name, const char *ref) {
        const char *colon;

        if (!ref_name)
                return false;
        if (streq(ref_name, ref))
                return true;
        /* "docker.io/library/busybox:1.36" matches the ref "1.36" */
        colon = strrchr(ref_name, ':');
        return colon && !strchr(colon, '/') && streq(colon + 1, ref);
}

int oci_index_pick(const OciDescriptor *d, size_t n, const char *ref, const Platform *p, size_t *ret,
                   char **ret_error) {
        bool ref_given = !isempty(ref), any_ref_match = false;
        const char *want = ref_given ? ref : "latest";
        size_t found = SIZE_MAX, n_candidates = 0;

        if (n == 0)
                return set_error(ret_error, -ENOENT, "the index lists no manifests");

        for (size_t i = 0; i < n; i++)
                if (ref_matches(d[i].ref_name, want))
                        any_ref_match = true;
        if (ref_given && !any_ref_match)
                return set_error(ret_error, -ENOENT, "no image with ref '%s' in the index", ref);

        for (size_t i = 0; i < n; i++) {
                if (any_ref_match && !ref_matches(d[i].ref_name, want))
                        continue;
                n_candidates++;
                if (!platform_matches(p, d[i].os, d[i].architecture, d[i].variant))
                        continue;
                if (found != SIZE_MAX && !any_ref_match && !streq_ptr(d[found].ref_name, d[i].ref_name))
                        return set_error(ret_error, -EADDRNOTAVAIL,
                                         "the index holds several images and none is 'latest'; pick one with a ref");
                if (found == SIZE_MAX)
                        found = i;
        }
        if (found == SIZE_MAX)
                return set_error(ret_error, -ENOENT, "no manifest in the index for platform %s/%s%s%s (%zu candidates)",
                                 p->os, p->architecture, p->variant ? "/" : "", strempty(p->variant), n_candidates);
        *ret = found;
        return 0;
}

void docker_manifest_free(DockerManifestEntry *e, size_t n) {
        for (size_t i = 0; e && i < n; i++) {
                free(e[i].config);
                strv_free(e[i].repo_tags);
                strv_free(e[i].layers);
        }
        free(e);
}

int docker_manifest_parse(const char *text, size_t size, DockerManifestEntry **ret, size_t *ret_n, char **ret_error) {
        _cleanup_json_ json_object *o = NULL;
        DockerManifestEntry *e;
        size_t n;
        int r;

        r = parse_json(text, size, "manifest.json", &o, ret_error);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_array))
                return set_error(ret_error, -EBADMSG, "manifest.json is not an array");
        n = json_object_array_length(o);
        if (n == 0)
                return set_error(ret_error, -ENOENT, "manifest.json lists no image");
        if (n > 1024)
                return set_error(ret_error, -E2BIG, "manifest.json lists too many images");
        e = calloc(n, sizeof(DockerManifestEntry));
        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *x = json_object_array_get_idx(o, i), *a;
                const char *c = json_get_string(x, "Config");

                if (!c) {
                        docker_manifest_free(e, n);
                        return set_error(ret_error, -EBADMSG, "manifest.json entry %zu has no \"Config\"", i);
                }
                e[i].config = strdup(c);
                r = e[i].config ? 0 : -ENOMEM;
                if (r >= 0 && json_object_object_get_ex(x, "RepoTags", &a))
                        r = strv_from_json_array(a, &e[i].repo_tags);
                if (r >= 0) {
                        if (!json_object_object_get_ex(x, "Layers", &a))
                                r = -EBADMSG;
                        else
                                r = strv_from_json_array(a, &e[i].layers);
                }
                if (r < 0) {
                        docker_manifest_free(e, n);
                        if (r == -EBADMSG)
                                return set_error(ret_error, r, "manifest.json entry %zu: \"Layers\" or \"RepoTags\" is not an array of strings", i);
                        return r;
                }
        }
        *ret = e;
        *ret_n = n;
        return 0;
}

int docker_manifest_pick(const DockerManifestEntry *e, size_t n, const char *ref, size_t *ret, char **ret_error) {
        const char *want = isempty(ref) ? "latest" : ref;

        for (size_t i = 0; i < n; i++)
                STRV_FOREACH(t, e[i].repo_tags)
                        if (ref_matches(*t, want)) {
                                *ret = i;
                                return 0;
                        }
        if (isempty(ref) && n == 1) {
                *ret = 0;
                return 0;
        }
        return set_error(ret_error, -ENOENT, "no image tagged '%s' in manifest.json", want);
}

bool layer_media_type_supported(const char *mt) {
        if (!mt)
                return true; /* docker's schema leaves it out in places; the bytes tell */
        return STR_IN_SET(mt, MEDIA_OCI_LAYER, MEDIA_OCI_LAYER "+gzip", MEDIA_OCI_LAYER "+zstd",
                          "application/vnd.oci.image.layer.nondistributable.v1.tar",
                          "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                          "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
                          "application/vnd.docker.image.rootfs.diff.tar.gzip",
                          "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
}

/* ---- the store --------------------------------------------------------------------------------- */

Image *image_free(Image *i) {
        if (!i)
                return NULL;
        if (i->manager && i->name && hashmap_get(i->manager->images, i->name) == i)
                (void) hashmap_remove(i->manager->images, i->name);
        free(i->name);
        free(i->digest);
        free(i->config_digest);
        free(i->format);
        strv_free(i->layers);
        free(i->layer_sizes);
        image_config_done(&i->config);
        free(i->manifest_blob);
        free(i->config_blob);
        strv_free(i->blobs);
        return mfree(i);
}

int image_get_path(Image *i, char **ret) {
        return sd_bus_path_encode(VESSEL_IMAGE_PATH_PREFIX, i->name, ret);
}

static int store_dir(const char *state_dir, const char *sub, char **ret) {
        char *p = strjoin(state_dir, "/", sub);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

/* The manifest and config as imported, and the layer blobs the manifest names. Records without them
 * (or with ones that make no sense) still load: such an image exports as a flattened tar only. */
static int image_blobs_from_record(json_object *o, Image *i) {
        _cleanup_free_ char *err = NULL;
        OciDescriptor config = {}, *layers = NULL;
        size_t n = 0;
        const char *mt, *ct;
        int r;

        mt = json_get_string(o, "ManifestBlob");
        ct = json_get_string(o, "ConfigBlob");
        if (!mt || !ct)
                return 0;
        r = oci_manifest_parse(mt, strlen(mt), &config, &layers, &n, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || n != strv_length(i->layers)) {
                log_warning("Image %s: the manifest in its record is of no use (%s); it exports as tar only.", i->name,
                            r < 0 ? strempty(err) : "it names other layers");
                r = 0;
                goto finish;
        }
        for (size_t k = 0; k < n; k++) {
                r = strv_extend(&i->blobs, layers[k].hex);
                if (r < 0)
                        goto finish;
        }
        i->manifest_blob = strdup(mt);
        i->config_blob = strdup(ct);
        r = i->manifest_blob && i->config_blob ? 0 : -ENOMEM;
finish:
        oci_descriptor_done(&config);
        oci_descriptors_free(layers, n);
        return r;
}

static int image_from_record(json_object *o, Image **ret, char **ret_error) {
        _cleanup_(image_freep) Image *i = NULL;
        json_object *e;
        int r;

        i = calloc(1, sizeof(Image));
        if (!i)
                return -ENOMEM;
        if ((r = strdup_or_null(json_get_string(o, "Name"), &i->name)) < 0 ||
            (r = strdup_or_null(json_get_string(o, "Digest"), &i->digest)) < 0 ||
            (r = strdup_or_null(json_get_string(o, "ConfigDigest"), &i->config_digest)) < 0 ||
            (r = strdup_or_null(json_get_string(o, "Format"), &i->format)) < 0)
                return r;
        if (!i->name || !image_name_is_valid(i->name))
                return set_error(ret_error, -EBADMSG, "record has no valid Name");
        if (json_object_object_get_ex(o, "Size", &e))
                i->size = (uint64_t) json_object_get_int64(e);
        if (json_object_object_get_ex(o, "Created", &e))
                i->created_usec = (uint64_t) json_object_get_int64(e);
        if (json_object_object_get_ex(o, "Imported", &e))
                i->imported_usec = (uint64_t) json_object_get_int64(e);
        if (!json_object_object_get_ex(o, "Layers", &e) || strv_from_json_array(e, &i->layers) < 0 || !i->layers)
                return set_error(ret_error, -EBADMSG, "record has no valid Layers");
        STRV_FOREACH(l, i->layers)
                if (strlen(*l) != SHA256_HEX_LEN || strspn(*l, "0123456789abcdef") != SHA256_HEX_LEN)
                        return set_error(ret_error, -EBADMSG, "record has an invalid layer '%s'", *l);
        i->layer_sizes = calloc(strv_length(i->layers) + 1, sizeof(uint64_t));
        if (!i->layer_sizes)
                return -ENOMEM;
        if (json_object_object_get_ex(o, "LayerSizes", &e) && json_object_is_type(e, json_type_array))
                for (size_t k = 0; k < json_object_array_length(e) && k < strv_length(i->layers); k++)
                        i->layer_sizes[k] = (uint64_t) json_object_get_int64(json_object_array_get_idx(e, k));
        if (!json_object_object_get_ex(o, "Config", &e))
                return set_error(ret_error, -EBADMSG, "record has no Config");
        r = image_config_from_json(e, &i->config, ret_error);
        if (r < 0)
                return r;
        r = image_blobs_from_record(o, i);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(i);
        return 0;
}

static int image_load_record(Manager *m, int images_fd, const char *file, Image **ret) {
        _cleanup_free_ char *text = NULL, *error = NULL;
        _cleanup_json_ json_object *o = NULL;
        size_t size;
        int r;

        r = read_full_file_at(images_fd, file, IMAGE_JSON_MAX * 2, &text, &size);
        if (r < 0)
                return log_warning_errno(r, "Failed to read image record %s: %m", file);
        r = parse_json(text, size, file, &o, &error);
        if (r >= 0)
                r = image_from_record(o, ret, &error);
        if (r < 0)
                return log_warning_errno(r, "Ignoring image record %s: %s", file, error ?: strerror(-r));
        (*ret)->manager = m;
        return 0;
}

static int image_add(Manager *m, Image *i) {
        Image *old;
        _cleanup_free_ char *p = NULL;
        int r;

        old = hashmap_get(m->images, i->name);
        if (old) {
                if (image_get_path(old, &p) >= 0)
                        (void) manager_emit_signal(m, "ImageRemoved", "so", old->name, p);
                p = mfree(p);
                image_free(old);
        }
        r = hashmap_put(m->images, i->name, i);
        if (r < 0)
                return r;
        i->manager = m;
        if (image_get_path(i, &p) >= 0)
                (void) manager_emit_signal(m, "ImageNew", "so", i->name, p);
        return 0;
}

int manager_add_image_from_store(Manager *m, const char *name, Image **ret) {
        _cleanup_free_ char *label = NULL, *file = NULL, *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        Image *i;
        int r;

        r = image_path_label(name, &label);
        if (r < 0)
                return r;
        file = strjoin(label, ".json");
        if (!file)
                return -ENOMEM;
        r = store_dir(m->state_dir, "images", &dir);
        if (r < 0)
                return r;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = image_load_record(m, fd, file, &i);
        if (r < 0)
                return r;
        if (!streq(i->name, name)) {
                image_free(i);
                return -EBADMSG;
        }
        r = image_add(m, i);
        if (r < 0) {
                image_free(i);
                return r;
        }
        if (ret)
                *ret = i;
        return 0;
}

static void remove_temporaries(int dir_fd) {
        _cleanup_(closedirp_) DIR *d = opendir_dup(dir_fd);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d)))
                if (startswith(de->d_name, ".#"))
                        (void) unlinkat(dir_fd, de->d_name, 0);
}

int manager_load_images(Manager *m) {
        _cleanup_free_ char *images = NULL, *layers = NULL, *tmp = NULL, *blobs = NULL, *blobs_sha = NULL;
        _cleanup_close_ int images_fd = -EBADF, layers_fd = -EBADF;
        _cleanup_(closedirp_) DIR *d = NULL;
        struct dirent *de;
        int r;

        if ((r = store_dir(m->state_dir, "images", &images)) < 0 ||
            (r = store_dir(m->state_dir, "layers", &layers)) < 0 || (r = store_dir(m->state_dir, "tmp", &tmp)) < 0 ||
            (r = store_dir(m->state_dir, "blobs", &blobs)) < 0 ||
            (r = store_dir(m->state_dir, "blobs/sha256", &blobs_sha)) < 0)
                return log_oom();

        /* debris of imports that did not finish: work directories, half-written files */
        (void) rm_rf(tmp);
        FOREACH_STRING(p, images, layers, tmp, blobs, blobs_sha)
                if (mkdir(p, 0700) < 0 && errno != EEXIST)
                        return log_error_errno(errno, "Failed to create %s: %m", p);

        layers_fd = open(layers, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        images_fd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (layers_fd < 0 || images_fd < 0)
                return log_error_errno(errno, "Failed to open the image store: %m");
        remove_temporaries(layers_fd);
        remove_temporaries(images_fd);

        d = fdopendir(fcntl(images_fd, F_DUPFD_CLOEXEC, 3));
        if (!d)
                return log_error_errno(errno, "Failed to read %s: %m", images);
        /* a dup shares the file offset, which remove_temporaries() left at the end */
        rewinddir(d);
        while ((de = readdir(d))) {
                Image *i;

                if (de->d_name[0] == '.' || !endswith(de->d_name, ".json"))
                        continue;
                if (hashmap_size(m->images) >= IMAGES_MAX)
                        break;
                if (image_load_record(m, images_fd, de->d_name, &i) < 0)
                        continue;
                if (hashmap_put(m->images, i->name, i) < 0) {
                        log_warning("Duplicate image record for %s, ignoring %s.", i->name, de->d_name);
                        i->manager = NULL;
                        image_free(i);
                }
        }
        log_debug("Loaded %zu images.", hashmap_size(m->images));
        return 0;
}

void manager_free_images(Manager *m) {
        Image *i;

        while (hashmap_size(m->images) > 0) {
                unsigned k = 0;
                if (!hashmap_iterate(m->images, &k, (void **) &i, NULL))
                        break;
                image_free(i);
        }
}

Image *manager_find_image(Manager *m, const char *name) {
        _cleanup_free_ char *n = NULL;
        Image *i;

        if (isempty(name))
                return NULL;
        i = hashmap_get(m->images, name);
        if (i)
                return i;
        if (image_name_normalize(name, &n) < 0)
                return NULL;
        return hashmap_get(m->images, n);
}

int image_lower_dirs(Image *i, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t n = strv_length(i->layers);

        /* overlayfs wants the topmost lower first */
        for (size_t k = n; k > 0; k--) {
                char *j = strjoin(strempty(s), s ? ":" : "", i->manager->state_dir, "/layers/", i->layers[k - 1]);
                if (!j)
                        return -ENOMEM;
                free(s);
                s = j;
        }
        if (!s)
                return -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}

Container *image_find_user(Image *i) {
        Container *c;

        HASHMAP_FOREACH(c, i->manager->containers)
                if (streq_ptr(c->image, i->name))
                        return c;
        return NULL;
}

int image_remove(Image *i) {
        Manager *m = i->manager;
        _cleanup_free_ char *label = NULL, *file = NULL, *path = NULL, *name = NULL;
        int r;

        r = image_path_label(i->name, &label);
        if (r < 0)
                return r;
        file = strjoin(m->state_dir, "/images/", label, ".json");
        name = strdup(i->name);
        if (!file || !name)
                return -ENOMEM;
        if (unlink(file) < 0 && errno != ENOENT)
                return -errno;
        (void) image_get_path(i, &path);
        image_free(i);
        if (path)
                (void) manager_emit_signal(m, "ImageRemoved", "so", name, path);
        log_info("Removed image %s.", name);
        /* its layers go with it unless another image or a container uses them */
        (void) manager_prune_layers(m, NULL, NULL);
        return 0;
}

static bool layer_is_used(Manager *m, const char *hex) {
        Image *i;
        Container *c;

        HASHMAP_FOREACH(i, m->images)
                if (strv_contains(i->layers, hex))
                        return true;
        HASHMAP_FOREACH(c, m->containers)
                if (c->lower_dir && strstr(c->lower_dir, hex))
                        return true;
        return false;
}

/* dev: stay on that file system (mount points count, what is mounted there does not); 0 = any */
static uint64_t du_at(int dir_fd, const char *name, dev_t dev) {
        _cleanup_(closedirp_) DIR *d = NULL;
        struct dirent *de;
        uint64_t sum = 0;
        int fd;

        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return 0;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return 0;
        }
        while ((de = readdir(d))) {
                struct stat st;
                if (dot_or_dot_dot(de->d_name))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                sum += (uint64_t) st.st_blocks * 512;
                if (S_ISDIR(st.st_mode) && (dev == 0 || st.st_dev == dev))
                        sum += du_at(dirfd(d), de->d_name, dev);
        }
        return sum;
}

uint64_t image_store_du(int dir_fd, const char *name) {
        return du_at(dir_fd, name, 0);
}

bool manager_blob_is_used(Manager *m, const char *hex) {
        Image *i;

        HASHMAP_FOREACH(i, m->images)
                if (strv_contains(i->blobs, hex))
                        return true;
        return false;
}

static bool blob_name_is_valid(const char *name) {
        return strlen(name) == SHA256_HEX_LEN && strspn(name, "0123456789abcdef") == SHA256_HEX_LEN;
}

/* Calls f for each blob of the store with its allocated size. */
static int blobs_foreach(Manager *m, void (*f)(Manager *m, int dir_fd, const char *hex, uint64_t size, void *userdata),
                         void *userdata) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_(closedirp_) DIR *d = NULL;
        struct dirent *de;

        if (store_dir(m->state_dir, "blobs/sha256", &dir) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                struct stat st;

                if (!blob_name_is_valid(de->d_name))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                f(m, dirfd(d), de->d_name, (uint64_t) st.st_blocks * 512, userdata);
        }
        return 0;
}

typedef struct BlobsUsage {
        unsigned n;
        uint64_t size, unused;
} BlobsUsage;

static void on_blob_prune(Manager *m, int dir_fd, const char *hex, uint64_t size, void *userdata) {
        BlobsUsage *u = userdata;

        if (manager_blob_is_used(m, hex) || unlinkat(dir_fd, hex, 0) < 0)
                return;
        u->n++;
        u->size += size;
}

static uint64_t prune_blobs(Manager *m) {
        BlobsUsage u = {};

        (void) blobs_foreach(m, on_blob_prune, &u);
        if (u.n > 0)
                log_info("Pruned %u unused blobs (%" PRIu64 " bytes).", u.n, u.size);
        return u.size;
}

static void on_blob_usage(Manager *m, int dir_fd, const char *hex, uint64_t size, void *userdata) {
        BlobsUsage *u = userdata;

        u->n++;
        u->size += size;
        if (!manager_blob_is_used(m, hex))
                u->unused += size;
}

int manager_blobs_usage(Manager *m, unsigned *ret_n, uint64_t *ret_size, uint64_t *ret_unused) {
        BlobsUsage u = {};
        int r;

        r = blobs_foreach(m, on_blob_usage, &u);
        if (r < 0)
                return r;
        *ret_n = u.n;
        *ret_size = u.size;
        *ret_unused = u.unused;
        return 0;
}

int manager_prune_layers(Manager *m, uint64_t *ret_freed, unsigned *ret_n) {
        _cleanup_free_ char *layers = NULL;
        _cleanup_(closedirp_) DIR *d = NULL;
        struct dirent *de;
        uint64_t freed = 0;
        unsigned n = 0;

        /* an import may be about to name a layer it found in the store */
        if (hashmap_size(m->transfers) > 0)
                return -EBUSY;
        if (store_dir(m->state_dir, "layers", &layers) < 0)
                return -ENOMEM;
        d = opendir(layers);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                char hex[SHA256_HEX_LEN + 1];
                const char *dot;

                if (de->d_name[0] == '.')
                        continue;
                memcpy(hex, de->d_name, MIN(strlen(de->d_name), (size_t) SHA256_HEX_LEN));
                hex[MIN(strlen(de->d_name), (size_t) SHA256_HEX_LEN)] = 0;
                if (strlen(hex) != SHA256_HEX_LEN || strspn(hex, "0123456789abcdef") != SHA256_HEX_LEN)
                        continue;
                dot = de->d_name + SHA256_HEX_LEN;
                if (!IN_SET(*dot, 0, '.'))
                        continue;
                if (layer_is_used(m, hex))
                        continue;
                if (*dot == 0) {
                        freed += du_at(dirfd(d), de->d_name, 0);
                        if (rm_rf_at(dirfd(d), de->d_name) < 0)
                                continue;
                        n++;
                } else
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        }
        if (n > 0)
                log_info("Pruned %u unused layers (%" PRIu64 " bytes).", n, freed);
        freed += prune_blobs(m);
        if (ret_freed)
                *ret_freed = freed;
        if (ret_n)
                *ret_n = n;
        return 0;
}

/* ---- import (runs in a Transfer's worker process) --------------------------------------------- */

void import_request_free(void *p) {
        ImportRequest *q = p;

        if (!q)
                return;
        safe_close(q->fd);
        free(q->name);
        free(q->ref);
        free(q->format);
        free(q->state_dir);
        free(q->work_dir);
        free(q);
}

typedef struct Import {
        Transfer *t;
        ImportRequest *req;
        int layers_fd, images_fd, work_fd, blobs_fd;
        uint64_t done_base, total;
        unsigned n_layers_made;
        const char *format; /* as detected */
} Import;

static int openat2_in_root(int dir_fd, const char *path, int flags) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC | O_NOCTTY),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        int fd = (int) syscall(SYS_openat2, dir_fd, path, &how, sizeof how);
        return fd < 0 ? -errno : fd;
}

/* A small file of the layout or archive, read through its own root: symlinks in it never lead out. */
static int read_small_in_root(Import *im, int dir_fd, const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        fd = openat2_in_root(dir_fd, path, O_RDONLY);
        if (fd < 0)
                return transfer_worker_error(im->t, fd, "%s: %s", path, strerror(-fd));
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return transfer_worker_error(im->t, -EBADMSG, "%s is not a regular file", path);
        if ((uint64_t) st.st_size > IMAGE_JSON_MAX)
                return transfer_worker_error(im->t, -EFBIG, "%s is too large (%" PRIu64 " bytes)", path, (uint64_t) st.st_size);
        r = read_full_file_at(fd, "", IMAGE_JSON_MAX, ret, ret_size);
        if (r == -ENOENT || r == -EINVAL) {
                /* read_full_file_at() may not take "": read by hand */
                _cleanup_free_ char *buf = malloc((size_t) st.st_size + 1);
                ssize_t n;
                if (!buf)
                        return -ENOMEM;
                n = pread(fd, buf, (size_t) st.st_size, 0);
                if (n < 0)
                        return transfer_worker_error(im->t, -errno, "%s: %m", path);
                buf[n] = 0;
                *ret = TAKE_PTR(buf);
                *ret_size = (size_t) n;
                return 0;
        }
        if (r < 0)
                return transfer_worker_error(im->t, r, "%s: %s", path, strerror(-r));
        return 0;
}

/* A JSON blob named by a descriptor: read, size and digest checked. */
static int read_blob(Import *im, int dir_fd, const OciDescriptor *d, const char *what, char **ret, size_t *ret_size) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        char hex[SHA256_HEX_LEN + 1];
        size_t size;
        int r;

        if (d->size > IMAGE_JSON_MAX)
                return transfer_worker_error(im->t, -EFBIG, "%s sha256:%s: %" PRIu64 " bytes, too large", what, d->hex, d->size);
        path = strjoin("blobs/sha256/", d->hex);
        if (!path)
                return -ENOMEM;
        r = read_small_in_root(im, dir_fd, path, &text, &size);
        if (r < 0)
                return r;
        if (size != d->size)
                return transfer_worker_error(im->t, -EBADMSG, "%s sha256:%s: size %zu, its descriptor says %" PRIu64,
                                             what, d->hex, size, d->size);
        sha256_buf_hex(text, size, hex);
        if (!streq(hex, d->hex))
                return transfer_worker_error(im->t, -EBADMSG, "%s: digest mismatch, the blob is sha256:%s, its descriptor says sha256:%s",
                                             what, hex, d->hex);
        *ret = TAKE_PTR(text);
        *ret_size = size;
        return 0;
}

static void on_layer_progress(uint64_t bytes, void *userdata) {
        Import *im = userdata;
        transfer_worker_progress(im->t, im->done_base + bytes, im->total);
}

static bool layer_exists(Import *im, const char *hex) {
        struct stat st;
        return fstatat(im->layers_fd, hex, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISDIR(st.st_mode);
}

static bool blob_exists(Import *im, const char *hex) {
        struct stat st;
        return fstatat(im->blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISREG(st.st_mode);
}

static int layer_size_read(Import *im, const char *hex, uint64_t *ret) {
        _cleanup_free_ char *file = strjoin(hex, ".size"), *text = NULL;
        if (!file)
                return -ENOMEM;
        if (read_full_file_at(im->layers_fd, file, 64, &text, NULL) < 0)
                return -ENOENT;
        *ret = strtoull(text, NULL, 10);
        return 0;
}

/* Unpacks one layer blob into the store: into the work directory first, then renamed into place
 * under its diff_id once complete and checked. The blob is kept too, as 'keep' says: as read (named
 * by its digest, as an OCI manifest names it) or as its uncompressed tar (named by the diff_id, as our
 * own manifests of tarballs and docker-archives name it). */
static int import_layer(Import *im, int blob_fd, bool seekable, const char *expected_digest, uint64_t expected_size,
                        const char *expected_diff_id, LayerCopy keep, const char *what,
                        char ret_diff_id[SHA256_HEX_LEN + 1], uint64_t *ret_size) {
        _cleanup_free_ char *error = NULL;
        _cleanup_close_ int root_fd = -EBADF, copy_fd = -EBADF;
        char tmp[32], blob_tmp[32], size_text[32];
        const char *blob_hex;
        LayerResult res;
        LayerSource src = {
                .fd = blob_fd,
                .seekable = seekable,
                .expected_digest_hex = expected_digest,
                .expected_size = expected_size,
                .progress = on_layer_progress,
                .userdata = im,
                .copy = keep,
                .copy_fd = -EBADF,
        };
        int r;

        (void) snprintf(tmp, sizeof tmp, "layer-%u", im->n_layers_made);
        (void) snprintf(blob_tmp, sizeof blob_tmp, "blob-%u", im->n_layers_made++);
        if (mkdirat(im->work_fd, tmp, 0755) < 0)
                return transfer_worker_error(im->t, -errno, "Failed to create %s: %m", tmp);
        root_fd = openat(im->work_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0)
                return -errno;
        copy_fd = openat(im->work_fd, blob_tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (copy_fd < 0)
                return transfer_worker_error(im->t, -errno, "Failed to create %s: %m", blob_tmp);
        src.copy_fd = copy_fd;

        r = layer_apply(root_fd, &src, LAYER_APPLY_WHITEOUTS | LAYER_APPLY_OWNERSHIP, im->req->max_layer_size, &res, &error);
        if (r < 0)
                return transfer_worker_error(im->t, r, "%s: %s", what, error ?: strerror(-r));
        im->done_base += res.blob_size;

        if (expected_diff_id && !streq(expected_diff_id, res.diff_id))
                return transfer_worker_error(im->t, -EBADMSG,
                                             "%s: its uncompressed digest is sha256:%s, the config's diff_id says sha256:%s",
                                             what, res.diff_id, expected_diff_id);

        (void) snprintf(size_text, sizeof size_text, "%" PRIu64 "\n", res.tar_size);
        {
                _cleanup_free_ char *f = strjoin(res.diff_id, ".size");
                if (!f)
                        return -ENOMEM;
                r = write_file_atomic_at(im->layers_fd, f, size_text, strlen(size_text), 0644);
                if (r < 0)
                        return transfer_worker_error(im->t, r, "Failed to record the size of layer %s: %m", res.diff_id);
        }
        if (renameat(im->work_fd, tmp, im->layers_fd, res.diff_id) < 0 && !IN_SET(errno, EEXIST, ENOTEMPTY))
                /* EEXIST: an import next to ours stored the same layer first; ours goes with tmp/ */
                return transfer_worker_error(im->t, -errno, "Failed to store layer %s: %m", res.diff_id);
        /* the blob's name is its digest: one stored by another import has the same bytes */
        blob_hex = keep == LAYER_COPY_BLOB ? res.digest : res.diff_id;
        if (renameat(im->work_fd, blob_tmp, im->blobs_fd, blob_hex) < 0)
                return transfer_worker_error(im->t, -errno, "Failed to store blob %s: %m", blob_hex);

        memcpy(ret_diff_id, res.diff_id, sizeof res.diff_id);
        *ret_size = res.tar_size;
        return 0;
}

static char *rfc3339_now(void) {
        char buf[64];
        time_t t = time(NULL);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return NULL;
        return strdup(buf);
}

/* An OCI manifest for what we stored, with the layers as uncompressed tars: the identity of images
 * that came without one (plain tarballs, docker-archive). */
static int synthesize_manifest(const char *config_hex, size_t config_size, char **layers, const uint64_t *sizes,
                               char **ret) {
        _cleanup_json_ json_object *o = json_object_new_object(), *c = json_object_new_object(),
                                   *l = json_object_new_array();
        _cleanup_free_ char *cd = strjoin("sha256:", config_hex);

        if (!o || !c || !l || !cd)
                return -ENOMEM;
        json_object_object_add(o, "schemaVersion", json_object_new_int(2));
        json_object_object_add(o, "mediaType", json_object_new_string(MEDIA_OCI_MANIFEST));
        json_object_object_add(c, "mediaType", json_object_new_string(MEDIA_OCI_CONFIG));
        json_object_object_add(c, "digest", json_object_new_string(cd));
        json_object_object_add(c, "size", json_object_new_int64((int64_t) config_size));
        json_object_object_add(o, "config", json_object_get(c));
        for (size_t k = 0; layers && layers[k]; k++) {
                json_object *d = json_object_new_object();
                _cleanup_free_ char *dd = strjoin("sha256:", layers[k]);
                if (!d || !dd)
                        return -ENOMEM;
                json_object_object_add(d, "mediaType", json_object_new_string(MEDIA_OCI_LAYER));
                json_object_object_add(d, "digest", json_object_new_string(dd));
                json_object_object_add(d, "size", json_object_new_int64((int64_t) sizes[k]));
                json_object_array_add(l, d);
        }
        json_object_object_add(o, "layers", json_object_get(l));
        *ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        return *ret ? 0 : -ENOMEM;
}

static int check_name_free(Import *im, const char *name) {
        _cleanup_free_ char *label = NULL, *file = NULL;
        struct stat st;

        if (im->req->force)
                return 0;
        if (image_path_label(name, &label) < 0 || !(file = strjoin(label, ".json")))
                return -ENOMEM;
        if (fstatat(im->images_fd, file, &st, 0) >= 0)
                return transfer_worker_error(im->t, -EEXIST, "An image named '%s' exists already; import with force to replace it.",
                                             name);
        return 0;
}

static int pick_name(Import *im, const char *archive_name, char **ret) {
        const char *n = !isempty(im->req->name) ? im->req->name : archive_name;
        int r;

        /* docker's default registry is implied, as in docker's own names: docker.io/library/x → x */
        if (isempty(im->req->name) && n) {
                const char *s = startswith_ptr(n, "docker.io/") ?: startswith_ptr(n, "index.docker.io/");
                if (s)
                        n = startswith_ptr(s, "library/") ?: s;
        }

        if (isempty(n))
                return transfer_worker_error(im->t, -EINVAL, "The %s names no image; give a name.", im->format);
        r = image_name_normalize(n, ret);
        if (r == -ENAMETOOLONG)
                return transfer_worker_error(im->t, r, "Invalid image name '%s': " IMAGE_NAME_TOO_LONG ".", n);
        if (r < 0)
                return transfer_worker_error(im->t, r, "Invalid image name '%s'.", n);
        return check_name_free(im, *ret);
}

/* The last step: the record, renamed into images/ at once. */
static int import_finish(Import *im, const char *name, const char *manifest_text, const char *config_text,
                         size_t config_size, char **layers, const uint64_t *sizes) {
        _cleanup_json_ json_object *o = json_object_new_object(), *l = json_object_new_array(),
                                   *ls = json_object_new_array(), *config = NULL;
        _cleanup_free_ char *label = NULL, *file = NULL, *error = NULL, *md = NULL, *cd = NULL, *created = NULL;
        char mhex[SHA256_HEX_LEN + 1], chex[SHA256_HEX_LEN + 1];
        ImageConfig parsed = {};
        uint64_t size = 0, created_usec;
        const char *text;
        struct timespec now;
        int r;

        if (!o || !l || !ls)
                return -ENOMEM;
        r = parse_json(config_text, config_size, "config", &config, &error);
        if (r < 0)
                return transfer_worker_error(im->t, r, "%s", error);
        r = image_config_from_json(config, &parsed, &error);
        if (r < 0)
                return transfer_worker_error(im->t, r, "%s", error);
        created_usec = parsed.created_usec;
        image_config_done(&parsed);

        sha256_buf_hex(manifest_text, strlen(manifest_text), mhex);
        sha256_buf_hex(config_text, config_size, chex);
        md = strjoin("sha256:", mhex);
        cd = strjoin("sha256:", chex);
        if (!md || !cd)
                return -ENOMEM;
        for (size_t k = 0; layers[k]; k++) {
                json_object_array_add(l, json_object_new_string(layers[k]));
                json_object_array_add(ls, json_object_new_int64((int64_t) sizes[k]));
                size += sizes[k];
        }
        (void) clock_gettime(CLOCK_REALTIME, &now);
        json_object_object_add(o, "Name", json_object_new_string(name));
        json_object_object_add(o, "Digest", json_object_new_string(md));
        json_object_object_add(o, "ConfigDigest", json_object_new_string(cd));
        json_object_object_add(o, "Format", json_object_new_string(im->format));
        json_object_object_add(o, "Size", json_object_new_int64((int64_t) size));
        json_object_object_add(o, "Imported",
                               json_object_new_int64((int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000));
        json_object_object_add(o, "Created", json_object_new_int64((int64_t) created_usec));
        json_object_object_add(o, "Layers", json_object_get(l));
        json_object_object_add(o, "LayerSizes", json_object_get(ls));
        json_object_object_add(o, "Config", json_object_get(config));
        /* the blobs as they were, for exports that re-import to the same digests */
        json_object_object_add(o, "ManifestBlob", json_object_new_string(manifest_text));
        json_object_object_add(o, "ConfigBlob", json_object_new_string_len(config_text, (int) config_size));

        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        r = write_file_atomic_at(im->work_fd, "record.json", text, strlen(text), 0600);
        if (r < 0)
                return transfer_worker_error(im->t, r, "Failed to write the image record: %m");
        if (image_path_label(name, &label) < 0 || !(file = strjoin(label, ".json")))
                return -ENOMEM;
        if (syscall(SYS_renameat2, im->work_fd, "record.json", im->images_fd, file,
                    im->req->force ? 0 : RENAME_NOREPLACE) < 0) {
                if (errno == EEXIST)
                        return transfer_worker_error(im->t, -EEXIST, "An image named '%s' exists already; import with force to replace it.",
                                                     name);
                return transfer_worker_error(im->t, -errno, "Failed to register image %s: %m", name);
        }
        (void) created;
        transfer_worker_result(im->t, name);
        return 0;
}

static int import_oci_layout(Import *im, int dir_fd) {
        _cleanup_free_ char *text = NULL, *error = NULL, *mtext = NULL, *ctext = NULL, *name = NULL;
        _cleanup_strv_free_ char **layers = NULL;
        _cleanup_free_ uint64_t *sizes = NULL;
        OciDescriptor *index = NULL, *nested = NULL, *layer_d = NULL, config_d = {};
        size_t n_index = 0, n_nested = 0, n_layers = 0, pick, msize, csize, tsize;
        const OciDescriptor *md;
        ImageConfig config = {};
        const char *archive_name = NULL;
        int r;

        r = read_small_in_root(im, dir_fd, "oci-layout", &text, &tsize);
        if (r < 0)
                return r;
        text = mfree(text);
        r = read_small_in_root(im, dir_fd, "index.json", &text, &tsize);
        if (r < 0)
                return r;
        r = oci_index_parse(text, tsize, &index, &n_index, &error);
        if (r < 0) {
                r = transfer_worker_error(im->t, r, "index.json: %s", error);
                goto finish;
        }
        r = oci_index_pick(index, n_index, im->req->ref, platform_native(), &pick, &error);
        if (r < 0) {
                r = transfer_worker_error(im->t, r, "index.json: %s", error);
                goto finish;
        }
        md = index + pick;
        archive_name = md->ref_name;

        if (md->media_type && (streq(md->media_type, MEDIA_OCI_INDEX) || streq(md->media_type, MEDIA_DOCKER_LIST))) {
                /* a multi-platform image: its own index, picked by platform */
                r = read_blob(im, dir_fd, md, "image index", &mtext, &msize);
                if (r < 0)
                        goto finish;
                r = oci_index_parse(mtext, msize, &nested, &n_nested, &error);
                if (r < 0) {
                        r = transfer_worker_error(im->t, r, "image index sha256:%s: %s", md->hex, error);
                        goto finish;
                }
                size_t k;
                r = oci_index_pick(nested, n_nested, "", platform_native(), &k, &error);
                if (r < 0) {
                        r = transfer_worker_error(im->t, r, "image index sha256:%s: %s", md->hex, error);
                        goto finish;
                }
                md = nested + k;
                mtext = mfree(mtext);
        }
        if (md->media_type && !STR_IN_SET(md->media_type, MEDIA_OCI_MANIFEST, MEDIA_DOCKER_MANIFEST)) {
                r = transfer_worker_error(im->t, -EOPNOTSUPP, "manifest sha256:%s has unsupported media type %s", md->hex,
                                          md->media_type);
                goto finish;
        }
        r = read_blob(im, dir_fd, md, "manifest", &mtext, &msize);
        if (r < 0)
                goto finish;
        r = oci_manifest_parse(mtext, msize, &config_d, &layer_d, &n_layers, &error);
        if (r < 0) {
                r = transfer_worker_error(im->t, r, "manifest sha256:%s: %s", md->hex, error);
                goto finish;
        }
        r = read_blob(im, dir_fd, &config_d, "config", &ctext, &csize);
        if (r < 0)
                goto finish;
        r = image_config_parse(ctext, csize, &config, &error);
        if (r < 0) {
                r = transfer_worker_error(im->t, r, "config sha256:%s: %s", config_d.hex, error);
                goto finish;
        }
        if (strv_length(config.diff_ids) != n_layers) {
                r = transfer_worker_error(im->t, -EBADMSG, "manifest lists %zu layers, its config %zu diff_ids", n_layers,
                                          strv_length(config.diff_ids));
                goto finish;
        }
        if (n_layers == 0) {
                r = transfer_worker_error(im->t, -EBADMSG, "manifest sha256:%s has no layers", md->hex);
                goto finish;
        }

        /* the name: the caller's, else what the layout calls it (containerd's annotation has it in
         * full; the ref annotation only when it is a full name) */
        {
                _cleanup_json_ json_object *io = NULL;
                json_object *a, *e;
                const char *full = NULL;
                if (parse_json(text, tsize, "index.json", &io, NULL) >= 0 &&
                    json_object_object_get_ex(io, "manifests", &a) && json_object_is_type(a, json_type_array) &&
                    (e = json_object_array_get_idx(a, pick)) && json_object_object_get_ex(e, "annotations", &e))
                        full = json_get_string(e, ANNOTATION_CONTAINERD_NAME);
                if (!full && archive_name && (strchr(archive_name, ':') || strchr(archive_name, '/')))
                        full = archive_name;
                r = pick_name(im, full, &name);
                if (r < 0)
                        goto finish;
        }

        sizes = calloc(n_layers + 1, sizeof(uint64_t));
        if (!sizes) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t k = 0; k < n_layers; k++)
                if (!layer_exists(im, config.diff_ids[k]) || !blob_exists(im, layer_d[k].hex))
                        im->total += layer_d[k].size;
        transfer_worker_progress(im->t, 0, im->total);

        for (size_t k = 0; k < n_layers; k++) {
                char diff[SHA256_HEX_LEN + 1], what[128];
                _cleanup_free_ char *path = NULL;
                _cleanup_close_ int fd = -EBADF;

                (void) snprintf(what, sizeof what, "layer %zu (sha256:%.12s)", k, layer_d[k].hex);
                if (!layer_media_type_supported(layer_d[k].media_type)) {
                        r = transfer_worker_error(im->t, -EOPNOTSUPP, "%s: unsupported media type %s", what, layer_d[k].media_type);
                        goto finish;
                }
                if (layer_exists(im, config.diff_ids[k]) && blob_exists(im, layer_d[k].hex) &&
                    layer_size_read(im, config.diff_ids[k], &sizes[k]) >= 0) {
                        /* shared with an image we have: stored once */
                        r = strv_extend(&layers, config.diff_ids[k]);
                        if (r < 0)
                                goto finish;
                        continue;
                }
                path = strjoin("blobs/sha256/", layer_d[k].hex);
                if (!path) {
                        r = -ENOMEM;
                        goto finish;
                }
                fd = openat2_in_root(dir_fd, path, O_RDONLY);
                if (fd < 0) {
                        r = transfer_worker_error(im->t, fd, "%s: blob %s is missing: %s", what, path, strerror(-fd));
                        goto finish;
                }
                r = import_layer(im, fd, true, layer_d[k].hex, layer_d[k].size, config.diff_ids[k], LAYER_COPY_BLOB,
                                 what, diff, &sizes[k]);
                if (r < 0)
                        goto finish;
                r = strv_extend(&layers, diff);
                if (r < 0)
                        goto finish;
        }

        r = import_finish(im, name, mtext, ctext, csize, layers, sizes);
finish:
        oci_descriptors_free(index, n_index);
        oci_descriptors_free(nested, n_nested);
        oci_descriptors_free(layer_d, n_layers);
        oci_descriptor_done(&config_d);
        image_config_done(&config);
        return r;
}

static bool hex_file_name(const char *path, const char *suffix, char ret[SHA256_HEX_LEN + 1]) {
        const char *b = strrchr(path, '/');
        b = b ? b + 1 : path;
        if (strlen(b) != SHA256_HEX_LEN + strlen(suffix) || !endswith(b, suffix) ||
            strspn(b, "0123456789abcdef") != SHA256_HEX_LEN)
                return false;
        memcpy(ret, b, SHA256_HEX_LEN);
        ret[SHA256_HEX_LEN] = 0;
        return true;
}

static int import_docker_archive(Import *im, int dir_fd) {
        _cleanup_free_ char *text = NULL, *error = NULL, *ctext = NULL, *mtext = NULL, *name = NULL;
        _cleanup_strv_free_ char **layers = NULL;
        _cleanup_free_ uint64_t *sizes = NULL;
        DockerManifestEntry *e = NULL;
        ImageConfig config = {};
        char hex[SHA256_HEX_LEN + 1], chex[SHA256_HEX_LEN + 1];
        size_t n = 0, pick, size, csize, n_layers;
        const char *archive_name = NULL;
        int r;

        r = read_small_in_root(im, dir_fd, "manifest.json", &text, &size);
        if (r < 0)
                return r;
        r = docker_manifest_parse(text, size, &e, &n, &error);
        if (r < 0)
                return transfer_worker_error(im->t, r, "%s", error);
        r = docker_manifest_pick(e, n, im->req->ref, &pick, &error);
        if (r < 0) {
                r = transfer_worker_error(im->t, r, "%s", error);
                goto finish;
        }

        r = read_small_in_root(im, dir_fd, e[pick].config, &ctext, &csize);
        if (r < 0)
                goto finish;
        sha256_buf_hex(ctext, csize, chex);
        if ((hex_file_name(e[pick].config, ".json", hex) || hex_file_name(e[pick].config, "", hex)) && !streq(hex, chex)) {
                r = transfer_worker_error(im->t, -EBADMSG, "config %s: digest mismatch, the file is sha256:%s", e[pick].config, chex);
                goto finish;
        }
        r = image_config_parse(ctext, csize, &config, &error);
        if (r < 0) {
                r = transfer_worker_error(im->t, r, "config %s: %s", e[pick].config, error);
                goto finish;
        }
        n_layers = strv_length(e[pick].layers);
        if (n_layers == 0 || n_layers != strv_length(config.diff_ids)) {
                r = transfer_worker_error(im->t, -EBADMSG, "manifest.json lists %zu layers, the config %zu diff_ids", n_layers,
                                          strv_length(config.diff_ids));
                goto finish;
        }

        STRV_FOREACH(t, e[pick].repo_tags)
                if (!archive_name || ref_matches(*t, isempty(im->req->ref) ? "latest" : im->req->ref))
                        archive_name = *t;
        r = pick_name(im, archive_name, &name);
        if (r < 0)
                goto finish;

        sizes = calloc(n_layers + 1, sizeof(uint64_t));
        if (!sizes) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t k = 0; k < n_layers; k++) {
                struct stat st;
                _cleanup_close_ int fd = -EBADF;

                if (layer_exists(im, config.diff_ids[k]) && blob_exists(im, config.diff_ids[k]))
                        continue;
                fd = openat2_in_root(dir_fd, e[pick].layers[k], O_RDONLY);
                if (fd >= 0 && fstat(fd, &st) >= 0)
                        im->total += (uint64_t) st.st_size;
        }
        transfer_worker_progress(im->t, 0, im->total);

        for (size_t k = 0; k < n_layers; k++) {
                _cleanup_close_ int fd = -EBADF;
                char diff[SHA256_HEX_LEN + 1], what[PATH_MAX + 32];
                const char *expect = NULL;

                (void) snprintf(what, sizeof what, "layer %zu (%s)", k, e[pick].layers[k]);
                if (layer_exists(im, config.diff_ids[k]) && blob_exists(im, config.diff_ids[k]) &&
                    layer_size_read(im, config.diff_ids[k], &sizes[k]) >= 0) {
                        r = strv_extend(&layers, config.diff_ids[k]);
                        if (r < 0)
                                goto finish;
                        continue;
                }
                fd = openat2_in_root(dir_fd, e[pick].layers[k], O_RDONLY);
                if (fd < 0) {
                        r = transfer_worker_error(im->t, fd, "%s: missing: %s", what, strerror(-fd));
                        goto finish;
                }
                /* docker names layer files by their digest: check it where it does */
                if (hex_file_name(e[pick].layers[k], ".tar", hex) || hex_file_name(e[pick].layers[k], "", hex))
                        expect = hex;
                /* our manifest names the layer by its diff_id: keep the uncompressed tar */
                r = import_layer(im, fd, true, expect, UINT64_MAX, config.diff_ids[k], LAYER_COPY_TAR, what, diff,
                                 &sizes[k]);
                if (r < 0)
                        goto finish;
                r = strv_extend(&layers, diff);
                if (r < 0)
                        goto finish;
        }

        r = synthesize_manifest(chex, csize, layers, sizes, &mtext);
        if (r < 0)
                goto finish;
        r = import_finish(im, name, mtext, ctext, csize, layers, sizes);
finish:
        docker_manifest_free(e, n);
        image_config_done(&config);
        return r;
}

static int import_tarball(Import *im, int fd, bool seekable) {
        _cleanup_free_ char *name = NULL, *ctext = NULL, *mtext = NULL, *created = NULL, *dd = NULL;
        _cleanup_json_ json_object *c = NULL, *rootfs = NULL, *ids = NULL;
        _cleanup_strv_free_ char **layers = NULL;
        char diff[SHA256_HEX_LEN + 1], chex[SHA256_HEX_LEN + 1];
        uint64_t sizes[2] = {};
        struct stat st;
        int r;

        r = pick_name(im, NULL, &name);
        if (r < 0)
                return r;
        if (seekable && fstat(fd, &st) >= 0)
                im->total = (uint64_t) st.st_size;
        transfer_worker_progress(im->t, 0, im->total);

        r = import_layer(im, fd, seekable, NULL, UINT64_MAX, NULL, LAYER_COPY_TAR, "tarball", diff, &sizes[0]);
        if (r < 0)
                return r;
        r = strv_extend(&layers, diff);
        if (r < 0)
                return r;

        /* a config of our own: no command, the platform we run on */
        c = json_object_new_object();
        rootfs = json_object_new_object();
        ids = json_object_new_array();
        created = rfc3339_now();
        dd = strjoin("sha256:", diff);
        if (!c || !rootfs || !ids || !created || !dd)
                return -ENOMEM;
        json_object_object_add(c, "created", json_object_new_string(created));
        json_object_object_add(c, "architecture", json_object_new_string(platform_native()->architecture));
        json_object_object_add(c, "os", json_object_new_string("linux"));
        json_object_object_add(c, "config", json_object_new_object());
        json_object_array_add(ids, json_object_new_string(dd));
        json_object_object_add(rootfs, "type", json_object_new_string("layers"));
        json_object_object_add(rootfs, "diff_ids", json_object_get(ids));
        json_object_object_add(c, "rootfs", json_object_get(rootfs));
        ctext = strdup(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN));
        if (!ctext)
                return -ENOMEM;
        sha256_buf_hex(ctext, strlen(ctext), chex);
        r = synthesize_manifest(chex, strlen(ctext), layers, sizes, &mtext);
        if (r < 0)
                return r;
        return import_finish(im, name, mtext, ctext, strlen(ctext), layers, sizes);
}

/* A root file system directory: archived into the work directory as a tar (the layer's blob, as for
 * a tarball import), then imported as one. */
static int import_directory(Import *im, int dir_fd) {
        _cleanup_close_ int tar_fd = -EBADF;
        _cleanup_free_ char *name = NULL;
        struct stat st;
        int r;

        /* a missing or taken name fails before the work */
        im->format = "directory";
        r = pick_name(im, NULL, &name);
        if (r < 0)
                return r;
        im->format = "tar";
        tar_fd = openat(im->work_fd, "tree.tar", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (tar_fd < 0)
                return transfer_worker_error(im->t, -errno, "Failed to create a work file: %m");
        if (fstat(dir_fd, &st) < 0)
                return -errno;
        r = export_directory_tar(im->t, dir_fd, tar_fd, du_at(dir_fd, ".", st.st_dev), im->req->max_layer_size,
                                 im->req->state_dir);
        if (r < 0)
                return transfer_worker_error(im->t, r, "Failed to archive the directory: %s", strerror(-r));
        if (lseek(tar_fd, 0, SEEK_SET) < 0)
                return -errno;
        return import_tarball(im, tar_fd, true);
}

/* Decides what a file is from its first entries: OCI layouts and docker archives have their
 * well-known names, a root filesystem has anything else. Reads with pread(), so the caller's offset
 * is not moved. */
typedef struct PreadCtx {
        int fd;
        uint64_t offset;
        char buf[64 * 1024];
} PreadCtx;

static ssize_t on_pread(struct archive *a, void *userdata, const void **ret) {
        PreadCtx *c = userdata;
        ssize_t n = pread(c->fd, c->buf, sizeof c->buf, (off_t) c->offset);
        if (n < 0) {
                archive_set_error(a, errno, "read error");
                return -1;
        }
        c->offset += (uint64_t) n;
        *ret = c->buf;
        return n;
}

static la_int64_t on_pskip(struct archive *a, void *userdata, la_int64_t request) {
        PreadCtx *c = userdata;
        c->offset += (uint64_t) request;
        return request;
}

static const char *detect_format(int fd) {
        _cleanup_free_ PreadCtx *c = calloc(1, sizeof(PreadCtx));
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        const char *result = "tar";
        bool archive_like = false;
        unsigned n = 0;

        if (!a || !c) {
                if (a)
                        archive_read_free(a);
                return "tar";
        }
        c->fd = fd;
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        (void) archive_read_set_skip_callback(a, on_pskip);
        if (archive_read_open(a, c, NULL, on_pread, NULL) != ARCHIVE_OK)
                goto done;
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                _cleanup_free_ char *p = NULL;
                char hex[SHA256_HEX_LEN + 1];
                const char *name = archive_entry_pathname(e);

                if (!name || layer_entry_parse(name, &p) < 0)
                        continue;
                if (isempty(p))
                        continue;
                if (streq(p, "oci-layout") || streq(p, "index.json")) {
                        result = "oci-archive";
                        break;
                }
                if (streq(p, "manifest.json"))
                        result = "docker-archive"; /* an OCI layout may have it too: keep looking */
                else if (startswith(p, "blobs") || streq(p, "repositories") || hex_file_name(p, ".tar", hex) ||
                         hex_file_name(p, ".json", hex) || (strlen(p) >= SHA256_HEX_LEN && strspn(p, "0123456789abcdef") == SHA256_HEX_LEN))
                        archive_like = true;
                else if (!archive_like && !streq(result, "docker-archive"))
                        break; /* a root filesystem */
                if (++n > 100000)
                        break;
        }
done:
        archive_read_free(a);
        return result;
}

static int extract_archive(Import *im, int fd, bool seekable, int *ret_dir_fd) {
        _cleanup_free_ char *error = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        LayerSource src = {
                .fd = fd,
                .seekable = seekable,
                .expected_size = UINT64_MAX,
                .progress = on_layer_progress,
                .userdata = im,
        };
        LayerResult res;
        int r;

        if (mkdirat(im->work_fd, "archive", 0700) < 0)
                return transfer_worker_error(im->t, -errno, "Failed to create a work directory: %m");
        root_fd = openat(im->work_fd, "archive", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0)
                return -errno;
        /* the archive's blobs are compressed or not; its total is capped like several layers */
        r = layer_apply(root_fd, &src, 0, im->req->max_layer_size > 0 ? im->req->max_layer_size * 4 : 0, &res, &error);
        if (r < 0)
                return transfer_worker_error(im->t, r, "%s: %s", im->format, error ?: strerror(-r));
        /* what follows reads blobs again: count progress from 0 over their size */
        im->done_base = 0;
        *ret_dir_fd = TAKE_FD(root_fd);
        return 0;
}

/* A pipe cannot be read twice: keep it in the work directory first. */
static int spool_input(Import *im, int fd, int *ret) {
        _cleanup_close_ int out = -EBADF;
        _cleanup_free_ char *buf = malloc(128 * 1024);
        uint64_t total = 0, cap = im->req->max_layer_size > 0 ? im->req->max_layer_size * 4 : UINT64_MAX;

        if (!buf)
                return -ENOMEM;
        out = openat(im->work_fd, "input", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        for (;;) {
                ssize_t n = read(fd, buf, 128 * 1024);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return transfer_worker_error(im->t, -errno, "Failed to read the input: %m");
                }
                if (n == 0)
                        break;
                total += (uint64_t) n;
                if (total > cap)
                        return transfer_worker_error(im->t, -EFBIG, "The input is larger than %" PRIu64 " bytes.", cap);
                for (ssize_t done = 0; done < n;) {
                        ssize_t k = write(out, buf + done, (size_t) (n - done));
                        if (k < 0)
                                return transfer_worker_error(im->t, -errno, "Failed to spool the input: %m");
                        done += k;
                }
                transfer_worker_progress(im->t, total, 0);
        }
        *ret = TAKE_FD(out);
        return 0;
}

int image_import_work(Transfer *t, void *userdata) {
        ImportRequest *req = ASSERT_PTR(userdata);
        _cleanup_free_ char *layers = NULL, *images = NULL, *blobs = NULL;
        _cleanup_close_ int layers_fd = -EBADF, images_fd = -EBADF, work_fd = -EBADF, blobs_fd = -EBADF,
                            spooled = -EBADF, dir_fd = -EBADF;
        Import im = { .t = t, .req = req, .format = req->format };
        struct stat st;
        int fd = req->fd, r;
        bool seekable;

        if (store_dir(req->state_dir, "layers", &layers) < 0 || store_dir(req->state_dir, "images", &images) < 0 ||
            store_dir(req->state_dir, "blobs/sha256", &blobs) < 0)
                return -ENOMEM;
        layers_fd = open(layers, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        images_fd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        blobs_fd = open(blobs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        work_fd = open(req->work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (layers_fd < 0 || images_fd < 0 || blobs_fd < 0 || work_fd < 0)
                return transfer_worker_error(t, -errno, "Failed to open the image store: %m");
        im.layers_fd = layers_fd;
        im.images_fd = images_fd;
        im.blobs_fd = blobs_fd;
        im.work_fd = work_fd;

        if (fstat(fd, &st) < 0)
                return transfer_worker_error(t, -errno, "Failed to stat the input: %m");
        if (S_ISDIR(st.st_mode)) {
                if (!STR_IN_SET(req->format, "auto", "oci", "tar"))
                        return transfer_worker_error(t, -EISDIR, "The input is a directory, the format %s is a file.", req->format);
                /* an OCI layout has its oci-layout file; any other directory is a root file system */
                if (streq(req->format, "oci") ||
                    (streq(req->format, "auto") && faccessat(fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) >= 0)) {
                        im.format = "oci";
                        return import_oci_layout(&im, fd);
                }
                return import_directory(&im, fd);
        }
        if (streq(req->format, "oci"))
                return transfer_worker_error(t, -ENOTDIR, "Format oci wants an OCI layout directory (an O_DIRECTORY fd); for a tar of one use oci-archive.");
        if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
                return transfer_worker_error(t, -EBADFD, "The input is neither a file, a pipe nor a directory.");

        seekable = S_ISREG(st.st_mode);
        if (!seekable && !streq(req->format, "tar")) {
                r = spool_input(&im, fd, &spooled);
                if (r < 0)
                        return r;
                fd = spooled;
                seekable = true;
        }
        if (streq(req->format, "auto"))
                im.format = detect_format(fd);

        if (streq(im.format, "tar"))
                return import_tarball(&im, fd, seekable);

        if (fstat(fd, &st) >= 0)
                im.total = (uint64_t) st.st_size;
        r = extract_archive(&im, fd, seekable, &dir_fd);
        if (r < 0)
                return r;
        im.total = 0;
        if (streq(im.format, "oci-archive"))
                return import_oci_layout(&im, dir_fd);
        return import_docker_archive(&im, dir_fd);
}

/* ---- containers from images -------------------------------------------------------------------- */

int image_lower_dirs_check(const char *list, char **ret_missing) {
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
                if (access(d, F_OK) < 0) {
                        int r = -errno;
                        if (ret_missing)
                                *ret_missing = strdup(d);
                        return r;
                }
        return 0;
}

int image_prepare_container(Manager *m, const char *name, Settings *s, char **ret_image, char **ret_lower,
                            sd_bus_error *error) {
        _cleanup_strv_free_ char **command = NULL, **env = NULL;
        _cleanup_free_ char *lower = NULL, *image_name = NULL;
        char **entrypoint, **cmd;
        Image *i;
        int r;

        i = manager_find_image(m, name);
        if (!i)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_IMAGE, "No image named '%s'.", name);

        r = image_lower_dirs(i, &lower);
        if (r < 0)
                return r;
        /* the overlay's options go to mount(2) in one page, with upperdir= and workdir= */
        if (strlen(lower) > 3500)
                return sd_bus_error_setf(error, BUS_ERROR_LIMITS_EXCEEDED,
                                         "Image '%s' has too many layers (%zu) for one overlay mount.", i->name,
                                         strv_length(i->layers));

        /* docker run's rules: an entrypoint stays unless replaced; a command replaces Cmd; replacing
         * the entrypoint drops Cmd too */
        entrypoint = s->entrypoint_set ? s->entrypoint : i->config.entrypoint;
        cmd = s->command ?: s->entrypoint_set ? NULL : i->config.cmd;
        STRV_FOREACH(a, entrypoint)
                if (strv_extend(&command, *a) < 0)
                        return -ENOMEM;
        STRV_FOREACH(a, cmd)
                if (strv_extend(&command, *a) < 0)
                        return -ENOMEM;
        if (strv_length(command) == 0 || isempty(command[0]))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_SETTING,
                                         "Invalid setting Command: image '%s' has no Entrypoint or Cmd, give one.", i->name);

        /* the image's environment, the caller's on top */
        STRV_FOREACH(e, i->config.env)
                if (env_assignment_is_valid(*e) && strv_env_set(&env, *e) < 0)
                        return -ENOMEM;
        STRV_FOREACH(e, s->environment)
                if (strv_env_set(&env, *e) < 0)
                        return -ENOMEM;

        if (!s->working_directory && !isempty(i->config.working_dir)) {
                s->working_directory = i->config.working_dir[0] == '/' ? strdup(i->config.working_dir)
                                                                       : strjoin("/", i->config.working_dir);
                if (!s->working_directory)
                        return -ENOMEM;
        }
        if (!s->user && !isempty(i->config.user)) {
                s->user = strdup(i->config.user);
                if (!s->user)
                        return -ENOMEM;
        }
        if (!s->stop_signal_set && !isempty(i->config.stop_signal)) {
                int sig = parse_signal(i->config.stop_signal);
                if (sig > 0 && sig != SIGSTOP)
                        s->stop_signal = sig;
                else
                        log_warning("Image %s has an invalid StopSignal '%s', ignoring.", i->name, i->config.stop_signal);
        }

        image_name = strdup(i->name);
        if (!image_name)
                return -ENOMEM;
        strv_free(s->command);
        s->command = TAKE_PTR(command);
        strv_free(s->environment);
        s->environment = TAKE_PTR(env);
        *ret_image = TAKE_PTR(image_name);
        *ret_lower = TAKE_PTR(lower);
        return 0;
}
