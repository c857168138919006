/*
 * p11-oprequest.h — CKO_P11KMS_OPERATION objects (p11-oprequest.c): KMS
 * operations reachable through C_CreateObject / C_GetAttributeValue
 * alone, so that they cross p11-kit's RPC (include/p11kms/pkcs11.h).
 */
#ifndef P11KMS_PKCS11_P11_OPREQUEST_H
#define P11KMS_PKCS11_P11_OPREQUEST_H

#include "pkcs11/p11-internal.h"

/* Executes the request described by tmpl; *out is a session object. */
CK_RV p11kms_p11_oprequest_create(const p11kms_p11_session *s, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                  p11kms_p11_object **out);
/* The request's readable attributes (inputs except secrets, results). */
CK_RV p11kms_p11_oprequest_attrs(p11kms_p11_object *obj, p11kms_p11_attrs *out);
void p11kms_p11_oprequest_free(void *state);

#endif
