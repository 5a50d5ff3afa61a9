/*
 * datasets/ds.h - the datasets room in one include: readers (ds_read.h) and the
 * registry with resolution, verification and download (ds_registry.h).
 */
#ifndef ASSAY_DATASETS_DS_H
#define ASSAY_DATASETS_DS_H

#include "datasets/ds_read.h"
#include "datasets/ds_registry.h"

#endif
