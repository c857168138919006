/*
 * test-pkcs11.c — entry point of the module tests: runs the token,
 * object, mechanism and process suites (Check, forking mode).
 */
#include "config.h"

#include <stdlib.h>

#include "p11-test-util.h"

int main(void)
{
    SRunner *sr = srunner_create(p11t_suite_token());
    srunner_add_suite(sr, p11t_suite_objects());
    srunner_add_suite(sr, p11t_suite_mechs());
    srunner_add_suite(sr, p11t_suite_process());
    srunner_add_suite(sr, p11t_suite_opreq());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
