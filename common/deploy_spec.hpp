// What a deploy job asks for: the structs live in common/types.hpp, beside
// the job assignment that carries them.
#pragma once

#include "common/types.hpp"
