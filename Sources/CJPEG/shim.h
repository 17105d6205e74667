#include <stdio.h>
#include <jpeglib.h>
#include "adv_jpeg.h"
