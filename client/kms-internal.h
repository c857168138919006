/*
 * client/kms-internal.h — helpers shared by the client/kms-*.c files (not
 * installed, not for front ends): error filling, one-shot operation calls,
 * attribute reads and the CMK lookup used by the attribute fallbacks.
 */
#ifndef P11KMS_CLIENT_KMS_INTERNAL_H
#define P11KMS_CLIENT_KMS_INTERNAL_H

#include "client/kms.h"

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int p11kms_client_kms_fail(p11kms_client_kms_error *e, const char *exception, unsigned long rv,
                           const char *fmt, ...);

/* The KMS outcome of an operation object: exception + standard message. */
int p11kms_client_kms_fail_op(p11kms_client_kms_error *e, const char *op, const char *key_id,
                              const char *exception, unsigned long rv);

/* 1 when e says the module does not know the operation (try another route). */
int p11kms_client_kms_unsupported(const p11kms_client_kms_error *e);

/*
 * Call op with key_id and params (STOLEN, may be NULL) and no binary input.
 * res may be NULL when the caller wants no result.
 */
int p11kms_client_kms_simple(const p11kms_client_kms *s, const char *op, const char *key_id,
                             json_t *params, p11kms_client_kms_result *res,
                             p11kms_client_kms_error *err);

/* Read one attribute into a malloc'd buffer (NUL-terminated after *len);
 * 0 if absent or unreadable. */
int p11kms_client_kms_attr(const p11kms_client_kms *s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE t,
                           unsigned char **val, size_t *len);

/* The CMK object (secret or private key) of key_id (id or alias), found
 * through DescribeKey + a CKA_P11KMS_KEY_ID search.  key_id_out: 37 bytes. */
int p11kms_client_kms_find_cmk(const p11kms_client_kms *s, const char *key_id, CK_OBJECT_HANDLE *h,
                               char *key_id_out, p11kms_client_kms_error *err);

/* Fallback routes (client/kms-attr.c) for modules without the operation. */
int p11kms_client_kms_attr_create_key(const p11kms_client_kms *s, const p11kms_client_kms_create *c,
                                      p11kms_client_kms_result *res, p11kms_client_kms_error *err);
int p11kms_client_kms_attr_list_keys(const p11kms_client_kms *s, const char *aliases_of,
                                     int aliases, p11kms_client_kms_result *res,
                                     p11kms_client_kms_error *err);
int p11kms_client_kms_attr_get_policy(const p11kms_client_kms *s, const char *key_id,
                                      p11kms_client_kms_result *res, p11kms_client_kms_error *err);
int p11kms_client_kms_attr_put_policy(const p11kms_client_kms *s, const char *key_id,
                                      const char *policy, p11kms_client_kms_error *err);
int p11kms_client_kms_attr_rotation_status(const p11kms_client_kms *s, const char *key_id,
                                           p11kms_client_kms_result *res,
                                           p11kms_client_kms_error *err);

/* Standard-mechanism routes (client/kms-asym.c). */
int p11kms_client_kms_attr_sign(const p11kms_client_kms *s, const char *key_id,
                                const unsigned char *msg, size_t msglen, const char *type,
                                const char *algorithm, p11kms_client_kms_result *res,
                                p11kms_client_kms_error *err);
int p11kms_client_kms_attr_verify(const p11kms_client_kms *s, const char *key_id,
                                  const unsigned char *msg, size_t msglen, const char *type,
                                  const char *algorithm, const unsigned char *sig, size_t siglen,
                                  p11kms_client_kms_result *res, p11kms_client_kms_error *err);
int p11kms_client_kms_attr_public_key(const p11kms_client_kms *s, const char *key_id,
                                      p11kms_client_kms_result *res, p11kms_client_kms_error *err);
int p11kms_client_kms_attr_mac(const p11kms_client_kms *s, const char *key_id,
                               const unsigned char *msg, size_t msglen, const char *algorithm,
                               const unsigned char *mac, size_t maclen,
                               p11kms_client_kms_result *res, p11kms_client_kms_error *err);

#endif /* P11KMS_CLIENT_KMS_INTERNAL_H */
