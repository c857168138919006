/*
 * tests/kms/test-policy.h — the case tables of the policy tests.
 *
 * Documents are written with single quotes (converted to double quotes before
 * parsing) so the tables stay readable.  Requests use a small "key=value ..."
 * language parsed by test-policy.c; see the comment on eval_case.
 */
#ifndef P11KMS_TESTS_KMS_TEST_POLICY_H
#define P11KMS_TESTS_KMS_TEST_POLICY_H

#include <stddef.h>

#include "kms/policy.h"

/*
 * One evaluation: key policy (NULL = key-less request), up to three identity
 * policies, grants (indexes into grant_table, -1 terminated, "" = none) and
 * the request.  Request words (defaults in brackets):
 *   action=kms:Encrypt [kms:Encrypt]  uid=N [1001]  gid=N [1001]
 *   groups=N,N [1001,50]  user=NAME [alice] (- for none)  exe=PATH [/usr/bin/app]
 *   key=ID [K1] (- for none)  spec= usage= encalg= signalg= macalg= msgtype=
 *   alias=  window=N  rotation=N  bypass=0|1  ctx=k:v,k:v  grantops=A,B
 *   grantee=  retiring=  ctype=  newgrant=N (index into grant_table)
 */
typedef struct eval_case {
    const char *name;
    const char *key_policy;
    const char *identity[3];
    const char *grants; /* "0,3" indexes into grant_table, or NULL */
    const char *request;
    p11kms_policy_decision expect;
    const char *sid; /* expected deciding Sid, or NULL to skip */
} eval_case;

typedef struct bad_case {
    const char *name;
    p11kms_policy_kind kind;
    const char *doc;
    const char *message; /* exact */
} bad_case;

extern const eval_case eval_cases[];
extern const size_t n_eval_cases;
extern const bad_case bad_cases[];
extern const size_t n_bad_cases;
extern const p11kms_grant grant_table[];
extern const size_t n_grant_table;

#endif
