/* Loads the model library argv[1] with the runtime and prints why it failed, if it
 * did: a host built without any sanitizer, whatever the build of the tools. */
#include "mfc/Runtime/mfc_runtime.h"

#include <stdio.h>

int main(int argc, char **argv) {
  mfc_model *model = NULL;
  mfc_status status;
  if (argc != 2) {
    fprintf(stderr, "usage: %s model.so\n", argv[0]);
    return 2;
  }
  status = mfc_model_load(argv[1], &model);
  if (status != MFC_OK)
    fprintf(stderr, "error: %s\n", mfc_model_last_error(model));
  else
    printf("loaded %s\n", argv[1]);
  mfc_model_free(model);
  return status == MFC_OK ? 0 : 1;
}
