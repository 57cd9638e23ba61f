/* Model libraries with broken signatures; -DVARIANT=N picks one. */
#include <stdint.h>

#if VARIANT == 0 /* no mfc_signature at all */
#elif VARIANT == 1
const char mfc_signature[] = "mfc-signature 2\ninput\tx\t1\t1\t4\n";
#elif VARIANT == 2
const char mfc_signature[] = "mfc-signature 1\ninput\tx\t99\t1\t4\n";
#elif VARIANT == 3
const char mfc_signature[] = "mfc-signature 1\ninput\tx\t1\t2\t4\n";
#elif VARIANT == 4
const char mfc_signature[] = "mfc-signature 1\noutput\ty\t1\t1\t4\n"
                             "input\tx\t1\t1\t4\n";
#elif VARIANT == 5
const char mfc_signature[] = "mfc-signature 1\ninput\tx\t1\t9\t1,1,1,1,1,1,1,1,1\n";
#elif VARIANT == 6
const char mfc_signature[] = "mfc-signature 1\ninput\tx\t1\t1\t4\ninput\tx\t1\t1\t4\n";
#elif VARIANT == 7
const char mfc_signature[] = "mfc-signature 1\ninput x 1 1 4\n";
#elif VARIANT == 8 /* signature but no mfc_entry */
const char mfc_signature[] = "mfc-signature 1\ninput\tx\t1\t1\t4\n";
#endif

#if VARIANT != 8
void mfc_entry(void **args) { (void)args; }
#endif
